// Saving and loading baselines.
//
// The snapshot is tierwatch's own binary file: a 24-byte header (magic "TWBASE", format
// version, payload length, payload CRC-32, header CRC-32) and a compact payload (string
// table, node sets, connections, workload labels). It is written atomically: a temporary file next
// to the target, fsync, rename over the target, fsync of the directory — a crash (or kill -9) at
// any moment leaves either the previous snapshot or the new one, never a mix.
//
//   TW_RETURN_IF_ERROR(tw::baseline::SaveSnapshot(baseline, "/var/lib/tierwatch/baseline.twb"));
//   TW_ASSIGN_OR_RETURN(Baseline b, tw::baseline::LoadSnapshot(path, symbols));
//   // Wherever a command takes --baseline FILE: the snapshot or an exported document.
//   TW_ASSIGN_OR_RETURN(Baseline b, tw::baseline::LoadBaselineAny(path, symbols));
//
// A file that is not a loadable snapshot (foreign, truncated, corrupt, other format version)
// is an error naming the file and what is wrong: DataLoss for truncated/corrupt,
// FailedPrecondition for a version this build cannot read, InvalidArgument for a foreign
// file, NotFound for a missing one. Such a file is never overwritten silently: see Saver.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "baseline/baseline.h"
#include "common/atomic_file.h"
#include "common/time_source.h"

namespace tw::baseline {

inline constexpr absl::string_view kSnapshotMagic = "TWBASE";
// Version 2 adds the workload labels after the connections; version 1 files still load
// (their workloads have no labels). Saving always writes the current version.
inline constexpr uint16_t kSnapshotVersion = 2;
inline constexpr uint16_t kOldestSnapshotVersion = 1;
inline constexpr size_t kSnapshotHeaderSize = 24;

// CRC-32 (IEEE 802.3; zlib's crc32), continuing from `crc`.
uint32_t Crc32(absl::string_view data, uint32_t crc = 0);

std::string EncodeSnapshot(const Baseline& baseline);
// `name` (the file) is used in error messages.
absl::StatusOr<Baseline> DecodeSnapshot(absl::string_view bytes, absl::string_view name,
                                        flow::SymbolTable& symbols);

// Atomic (common/atomic_file.h): a unique temporary file next to PATH (O_EXCL, no symlink
// following), fsync, rename, fsync dir. No PATH.lock (for exports and bundles in users'
// trees); SaveSnapshot and the Saver also lock PATH.lock (wait up to 10 s, then fail naming
// the holder).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data);
absl::Status SaveSnapshot(const Baseline& baseline, const std::string& path);
absl::StatusOr<Baseline> LoadSnapshot(const std::string& path, flow::SymbolTable& symbols);

// Renames an unreadable baseline to PATH.unreadable-<unix seconds> (or -N suffixed: never
// onto an existing file; nothing is deleted). Returns the new name.
absl::StatusOr<std::string> MoveUnreadableAside(const std::string& path, absl::Time now);

enum class BaselineFileKind { kSnapshot, kDocument, kUnknown };
// Tells the kinds apart by their first bytes: the snapshot magic, or text (YAML or JSON).
BaselineFileKind DetectBaselineFile(absl::string_view head);
// The snapshot or the exported document (YAML or JSON), whichever the file is.
absl::StatusOr<Baseline> LoadBaselineAny(const std::string& path, flow::SymbolTable& symbols);

// --- The daemon's periodic saving ------------------------------------------------------

struct SaverOptions {
  std::string path;
  absl::Duration interval = absl::Minutes(5);
  // At Start, a file that cannot be loaded (corrupt, truncated, foreign, other version) is
  // renamed to PATH.unreadable-<unix seconds> and learning starts empty. Without this,
  // Start fails and the daemon must not start (the operator decides: move it or pass
  // --reset-baseline).
  bool move_aside_unreadable = false;
};

// Saves a baseline every `interval` (clock injected) and on demand (shutdown).
//
//   Saver saver({.path = p, .interval = absl::Minutes(5)}, clock);
//   TW_ASSIGN_OR_RETURN(Baseline baseline, saver.Start(symbols));   // load or start empty
//   ... on every pipeline tick:  TW_RETURN_IF_ERROR(saver.MaybeSave(baseline));
//   ... on shutdown:             TW_RETURN_IF_ERROR(saver.Save(baseline));
//
// Start takes PATH.lock (common/atomic_file.h) and holds it until the saver is destroyed:
// a second saver or CLI writer of the same file is refused (Unavailable, naming the pid).
// Safety: Save refuses until Start has loaded the file (or found none), so the saver never
// replaces a file it could not load; before each save it re-checks that whatever is at the
// path is still a snapshot it can read (someone may have put another file there).
// Call from the thread that owns the baseline.
class Saver {
 public:
  Saver(SaverOptions options, const TimeSource& clock);

  absl::StatusOr<Baseline> Start(flow::SymbolTable& symbols);
  bool Due() const;
  // Saves when the interval has passed since the last save (or Start); OK otherwise.
  absl::Status MaybeSave(const Baseline& baseline);
  absl::Status Save(const Baseline& baseline);

  const std::string& path() const { return options_.path; }
  // Where an unreadable file was moved by Start ("" if none was).
  const std::string& moved_aside() const { return moved_aside_; }
  uint64_t saves() const { return saves_; }
  absl::Time last_save() const { return last_save_; }

 private:
  SaverOptions options_;
  const TimeSource& clock_;
  std::optional<FileLock> lock_;
  bool started_ = false;
  std::string moved_aside_;
  uint64_t saves_ = 0;
  absl::Time last_save_ = absl::InfinitePast();
};

}  // namespace tw::baseline
