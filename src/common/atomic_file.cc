#include "common/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace tw {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

std::string DirOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The pid a holder wrote into the lock file, for the error message ("" when unknown).
std::string HolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  absl::string_view s = absl::StripAsciiWhitespace(absl::string_view(buf, static_cast<size_t>(n)));
  int pid = 0;
  return absl::SimpleAtoi(s, &pid) && pid > 0 ? absl::StrCat(pid) : "";
}

// Writes all of `data`, retrying short writes and EINTR.
int WriteAll(int fd, absl::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

std::string LockPathFor(const std::string& path) { return path + ".lock"; }

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path, absl::Duration wait) {
  const std::string lock_path = LockPathFor(path);
  // O_NOFOLLOW: a symlink planted at PATH.lock must not make us create or lock its target.
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot lock ", path, ": ", lock_path, " is a symlink; tierwatch does not follow it"));
    }
    return ErrnoStatus(
        err, absl::StrCat("cannot write ", path, ": cannot create its lock file ", lock_path));
  }
  const absl::Time deadline = absl::Now() + wait;
  absl::Duration pause = absl::Milliseconds(5);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("cannot lock ", lock_path));
    }
    if (absl::Now() >= deadline) {
      std::string pid = HolderPid(fd);
      ::close(fd);
      return absl::UnavailableError(absl::StrCat(
          "another process", pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"), " is writing ",
          path, " (it holds ", lock_path, ")",
          wait > absl::ZeroDuration() ? absl::StrCat("; waited ", absl::FormatDuration(wait)) : "",
          "; write to another file or stop the other writer"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  // Record the holder for the next one's error message; best effort.
  if (::ftruncate(fd, 0) == 0) {
    std::string pid = absl::StrCat(::getpid(), "\n");
    (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return FileLock(path, fd);
}

FileLock::FileLock(FileLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

int RemoveStaleTempFiles(const std::string& path) {
  const std::string dir = DirOf(path);
  const std::string base = BaseOf(path);
  const std::string prefix = base + ".tmp-";
  const std::string legacy = base + ".tmp";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view name = e->d_name;
    if (name != legacy && !absl::StartsWith(name, prefix)) continue;
    std::string full = absl::StrCat(dir, "/", name);
    struct stat st;
    // lstat: only our own leftovers (regular files) go; a symlink there is not ours.
    if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::unlink(full.c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data,
                                 const AtomicWriteOptions& options) {
  std::optional<FileLock> own_lock;
  if (options.held_lock == nullptr && options.lock) {
    absl::StatusOr<FileLock> lock = FileLock::Acquire(path, options.lock_wait);
    if (!lock.ok()) return lock.status();
    own_lock.emplace(*std::move(lock));
  }
  // Under the lock no other writer has a temporary file open, so any left is a crash's.
  if (options.held_lock != nullptr || options.lock) RemoveStaleTempFiles(path);

  // A fresh name each time (O_EXCL retries on the unlikely clash): a name an attacker can
  // predict, or a crashed writer's leftover, is never opened.
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(::getpid()));
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = absl::StrFormat("%s.tmp-%d-%016x", path, ::getpid(), rng());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot create a temporary file next to ", path));
  }
  auto fail = [&](int err, absl::string_view what) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, absl::StrCat("cannot ", what, " ", path, " (temporary ", tmp, ")"));
  };
  if (int err = WriteAll(fd, data); err != 0) return fail(err, "write");
  // The data must be on disk before the rename makes it the file: otherwise a power cut can
  // leave the new name pointing at an empty file.
  if (::fsync(fd) != 0) return fail(errno, "fsync");
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) return fail(errno, "close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno, "rename temporary file to");
  // And the rename itself must reach the disk: fsync the directory entry.
  const std::string dir = DirOf(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open directory ", dir));
  rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("cannot fsync directory ", dir));
  return absl::OkStatus();
}

}  // namespace tw
