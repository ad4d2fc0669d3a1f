// Suggestions as files: one CiliumNetworkPolicy per Tier 1/2 workload at
// <namespace>/<workload>/networkpolicy.yaml with a kustomization.yaml per namespace, the
// cluster-wide fixes (and, when assumed, the target default-deny) under cluster-wide/ with
// their own kustomization.yaml. Every file starts with "# tierwatch suggest", so a later run
// recognises its own files; the text is deterministic (sorted, no timestamps of its own), so
// re-running on the same input changes nothing.
//
//   std::vector<OutputFile> files = Render(set);
//   TW_ASSIGN_OR_RETURN(WriteReport w, WriteFiles("suggestions", files));
//   std::string yaml = Bundle(files);             // one multi-document YAML (an API body)
//   TW_ASSIGN_OR_RETURN(auto back, SplitBundle(yaml));
//
// The YAML is written by hand (yaml-cpp's emitter cannot place the evidence comments) and
// reparsed by the proofs (prove.h) with tierwatch's own policy parser.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "suggest/suggest.h"

namespace tw::suggest {

inline constexpr absl::string_view kFileMarker = "# tierwatch suggest";

struct OutputFile {
  std::string path;  // relative to the output directory, "/"-separated
  std::string content;
  friend bool operator==(const OutputFile& a, const OutputFile& b) {
    return a.path == b.path && a.content == b.content;
  }
};

// Every file of the set, sorted by path.
std::vector<OutputFile> Render(const SuggestionSet& set);
// One policy's file text.
std::string RenderPolicy(const SuggestedPolicy& policy, absl::string_view source);

// All files as one multi-document YAML; each document starts with "# file: PATH".
std::string Bundle(const std::vector<OutputFile>& files);
absl::StatusOr<std::vector<OutputFile>> SplitBundle(absl::string_view text);

struct WriteReport {
  std::vector<std::string> written;    // created or changed
  std::vector<std::string> unchanged;  // already identical
  // tierwatch suggest files under the directory this run did not write (an earlier run's
  // suggestions that are no longer needed): listed, never deleted.
  std::vector<std::string> stale;
};

// Writes the files under `dir` (created as needed), each atomically. Refuses, before writing
// anything, to replace a file that tierwatch suggest did not write (FailedPrecondition).
absl::StatusOr<WriteReport> WriteFiles(const std::string& dir,
                                       const std::vector<OutputFile>& files);

}  // namespace tw::suggest
