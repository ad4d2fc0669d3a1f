// `tierwatch baseline merge`: one baseline from several — the shards of a sharded
// deployment each learn the connections of their own nodes, and a connection is
// legitimate wherever it was seen, so the shared, documented baseline they all watch
// against is the union of theirs (docs/deploy.md#sharding).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "baseline/baseline.h"
#include "baseline/document.h"
#include "baseline/persist.h"
#include "cli/commands.h"
#include "flow/symbol.h"

namespace tw::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out;
};

int MergeFail(absl::string_view msg) {
  std::cerr << "tierwatch baseline merge: " << msg << "\n";
  return kExitUsage;
}

int RunMerge(const MergeArgs& a) {
  const bool document = absl::EndsWith(a.out, ".yaml") || absl::EndsWith(a.out, ".yml") ||
                        absl::EndsWith(a.out, ".json");
  flow::SymbolTable symbols;
  baseline::Baseline merged(symbols);
  std::vector<std::string> sources;
  for (const auto& in : a.inputs) {
    auto b = baseline::LoadBaselineAny(in, symbols);
    if (!b.ok()) return MergeFail(b.status().message());
    std::cout << in << ": " << b->size() << " connection(s)"
              << (b->source().empty() ? "" : absl::StrCat(" (", b->source(), ")")) << "\n";
    sources.push_back(b->source().empty() ? in : b->source());
    merged.Merge(*b);
  }
  merged.set_source(absl::StrCat("merge of ", absl::StrJoin(sources, ", ")));
  absl::Status st = document ? baseline::WriteFileAtomically(
                                   a.out, baseline::ExportBaselineDocument(
                                              merged, absl::EndsWith(a.out, ".json")
                                                          ? baseline::DocumentFormat::kJson
                                                          : baseline::DocumentFormat::kYaml))
                             : baseline::SaveSnapshot(merged, a.out);
  if (!st.ok()) return MergeFail(st.message());
  std::cout << "wrote " << a.out << ": " << merged.size() << " connection(s)"
            << (document ? " (documented baseline)" : " (snapshot)") << "\n";
  return kExitOk;
}

}  // namespace

void RegisterBaselineMerge(CLI::App& app, CommandContext& ctx) {
  // RegisterBaseline comes first (main_app.cc).
  CLI::App* baseline = nullptr;
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "baseline") baseline = sub;
  }
  if (baseline == nullptr) return;
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = baseline->add_subcommand(
      "merge", "Merge baselines (snapshots or documents) into one: every connection of each");
  cmd->footer(
      "A connection is in the result when it is in any input; first and last seen, flow\n"
      "counts, nodes and workload labels are combined. The inputs may be snapshots or\n"
      "documented baselines, in any mix. --out ending in .yaml, .yml or .json writes the\n"
      "documented baseline (to review and commit); anything else a snapshot. Written\n"
      "atomically.\n\n"
      "Sharded deployments (docs/deploy.md#sharding): each shard learns its own nodes'\n"
      "connections; their union is the baseline every shard watches against.\n\n"
      "Exit: 0 done; 2 an unreadable input or output.\n\n"
      "Examples:\n"
      "  tierwatch baseline merge shard-0.yaml shard-1.yaml --out baseline.yaml\n"
      "  tierwatch baseline merge baseline.twb day2.twb --out baseline.twb\n");
  cmd->add_option("baselines", args->inputs, "Baselines to merge (snapshots or documents)")
      ->type_name("FILE...")
      ->required();
  cmd->add_option("--out", args->out,
                  "Where to write: .yaml/.yml/.json = documented baseline, else snapshot")
      ->type_name("FILE")
      ->required();
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunMerge(*args); }; });
}

}  // namespace tw::cli
