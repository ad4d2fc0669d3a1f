// Replacing a user's file safely: whole or not at all, one writer at a time, no symlink games.
//
//   // Lock PATH.lock (waiting a bounded time for another writer), write a unique temporary
//   // file next to PATH, fsync it, rename it over PATH, fsync the directory.
//   TW_RETURN_IF_ERROR(tw::WriteFileAtomically("/var/lib/tierwatch/baseline.twb", bytes));
//
//   // A long-lived writer (the daemon's baseline saver) holds the lock for its lifetime, so
//   // a second daemon or a CLI writing the same file is refused rather than interleaved:
//   TW_ASSIGN_OR_RETURN(tw::FileLock lock, tw::FileLock::Acquire(path, absl::ZeroDuration()));
//   TW_RETURN_IF_ERROR(tw::WriteFileAtomically(path, bytes, {.held_lock = &lock}));
//
// Guarantees: a crash (kill -9, power cut) at any moment leaves either the previous file or
// the new one at PATH, never a mix. The temporary file is created with O_CREAT|O_EXCL|
// O_NOFOLLOW under a fresh random name, so a file or symlink planted next to PATH is never
// written through, and PATH itself is replaced by rename (a symlink at PATH is replaced, its
// target untouched). The lock file PATH.lock is opened with O_NOFOLLOW and never deleted
// (deleting lock files races). Temporary files left by a crashed writer
// (PATH.tmp-*, and the fixed PATH.tmp of older versions) are removed under the lock.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tw {

// An exclusive flock(2) on PATH.lock; released when destroyed (or when the process dies,
// which is why a crashed writer never leaves a stale lock).
class FileLock {
 public:
  // Takes the lock of `path` (the file being protected, not the .lock file). Waits up to
  // `wait` for another holder (zero: try once). Unavailable (naming the holder's pid when
  // known) when it stays held; an errno-derived error when the lock file cannot be opened
  // (e.g. a symlink planted at PATH.lock: ELOOP).
  static absl::StatusOr<FileLock> Acquire(const std::string& path, absl::Duration wait);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // The protected file's path.
  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

struct AtomicWriteOptions {
  int mode = 0644;
  // How long to wait for another writer of the same file before failing (Unavailable).
  absl::Duration lock_wait = absl::Seconds(10);
  // The caller already holds the file's lock (FileLock::Acquire on the same path).
  const FileLock* held_lock = nullptr;
  // false: no PATH.lock (files in a user's output tree, e.g. a suggest bundle): still a
  // unique temporary and a rename, but concurrent writers are not serialized and stale
  // temporaries are not swept (without the lock they may be another writer's).
  bool lock = true;
};

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 const AtomicWriteOptions& options = {});

// Removes temporary files a crashed writer of `path` left behind (regular files named
// PATH.tmp-* or PATH.tmp; symlinks and anything else are left alone). Returns how many
// were removed. Call with the file's lock held; WriteFileAtomically does.
int RemoveStaleTempFiles(const std::string& path);

// The lock file that guards `path`.
std::string LockPathFor(const std::string& path);

}  // namespace tw
