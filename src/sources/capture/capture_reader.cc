#include "sources/capture/capture_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "flow/json.h"
#include "spdlog/spdlog.h"

namespace tw::sources {

namespace {

constexpr size_t kChunk = 1 << 20;

bool IsBlank(absl::string_view line) {
  for (char c : line) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Files are read in large chunks and split in place (no per-line allocation); stdin is read
// line by line so that a live `hubble observe -f -o jsonpb | tierwatch ...` is not held
// back until a chunk fills.
class LineSource {
 public:
  virtual ~LineSource() = default;
  // Next line without its '\n'; false at end of input.
  virtual bool Next(absl::string_view* line) = 0;
  virtual bool failed() const = 0;
};

class StreamLines final : public LineSource {
 public:
  explicit StreamLines(std::istream& in) : in_(in) {}
  bool Next(absl::string_view* line) override {
    if (!std::getline(in_, line_)) return false;
    *line = line_;
    return true;
  }
  bool failed() const override { return in_.bad(); }

 private:
  std::istream& in_;
  std::string line_;
};

class ChunkedLines final : public LineSource {
 public:
  explicit ChunkedLines(std::istream& in) : in_(in) { buf_.resize(kChunk); }
  bool Next(absl::string_view* line) override {
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buf_.data() + pos_, '\n', end_ - pos_));
      if (nl != nullptr) {
        size_t len = static_cast<size_t>(nl - (buf_.data() + pos_));
        *line = absl::string_view(buf_.data() + pos_, len);
        pos_ += len + 1;
        return true;
      }
      if (eof_) {
        if (pos_ == end_) return false;
        *line = absl::string_view(buf_.data() + pos_, end_ - pos_);  // no final newline
        pos_ = end_;
        return true;
      }
      Fill();
    }
  }
  bool failed() const override { return in_.bad(); }

 private:
  // Keeps the partial line, grows the buffer when one line is longer than it, reads more.
  void Fill() {
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    in_.read(buf_.data() + end_, static_cast<std::streamsize>(buf_.size() - end_));
    std::streamsize got = in_.gcount();
    end_ += static_cast<size_t>(got);
    if (got == 0 || !in_) eof_ = true;
  }

  std::istream& in_;
  std::string buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

absl::Status CheckReadable(const std::string& path) {
  if (path == "-") return absl::OkStatus();
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    return absl::NotFoundError(absl::StrCat("capture file not found: ", path));
  }
  if (std::filesystem::is_directory(st)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, expected a capture file (jsonpb lines)"));
  }
  return absl::OkStatus();
}

}  // namespace

CaptureReader::CaptureReader(std::vector<std::string> files, flow::SymbolTable& symbols,
                             CaptureOptions options)
    : files_(std::move(files)), symbols_(symbols), options_(options) {}

SourceStats CaptureReader::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status CaptureReader::Run(const EventCallback& callback) {
  return RunLines([&](flow::Event&& ev, absl::string_view) { return callback(std::move(ev)); });
}

// One RunLines call: the decoder, the uuids seen, the counts not yet published and the
// malformed lines reported, shared by the files it reads in turn.
class CaptureReader::LinesRun {
 public:
  LinesRun(CaptureReader& reader, const LineEventCallback& callback)
      : reader_(reader),
        options_(reader.options_),
        callback_(callback),
        decoder_(reader.symbols_),
        dedupe_(options_.dedupe_uuids && reader.files_.size() > 1) {}
  // Every way out of RunLines publishes what was counted.
  ~LinesRun() { Publish(); }

  absl::Status ReadFile(const std::string& path) {
    const bool is_stdin = path == "-";
    const std::string name = is_stdin ? "<stdin>" : path;
    std::ifstream file;
    std::unique_ptr<LineSource> lines;
    if (is_stdin) {
      lines = std::make_unique<StreamLines>(std::cin);
    } else {
      file.open(path, std::ios::binary);
      if (!file.is_open()) {
        int err = errno;
        if (err == ENOENT)
          return absl::NotFoundError(absl::StrCat("capture file not found: ", path));
        return absl::PermissionDeniedError(
            absl::StrCat("cannot open capture file ", path, ": ", std::strerror(err)));
      }
      lines = std::make_unique<ChunkedLines>(file);
    }
    spdlog::debug("capture reading file={}", name);
    return ReadLines(*lines, name);
  }

  // What was skipped without a report, and the unknown enum values, in total.
  void Summarize() {
    if (unreported_ > 0) {
      Warn(absl::StrCat(unreported_, " more malformed lines skipped without a report (",
                        reported_ + unreported_, " in total)"));
    }
    const flow::UnknownEnumCounts& unknown = decoder_.unknown_enums();
    if (unknown.total > 0) {
      std::vector<std::pair<std::string, uint64_t>> fields(unknown.by_field.begin(),
                                                           unknown.by_field.end());
      std::sort(fields.begin(), fields.end());
      std::string list;
      for (const auto& [field, n] : fields) {
        absl::StrAppend(&list, list.empty() ? "" : ", ", field, "=", n);
      }
      Warn(absl::StrCat(unknown.total, " unknown enum values in total (", list, ")"));
      absl::MutexLock lock(&reader_.mu_);
      reader_.stats_.unknown_enum_values += unknown.total;
    }
  }

 private:
  // The per-line loop: decode, skip the malformed and the duplicates, count, deliver.
  absl::Status ReadLines(LineSource& lines, absl::string_view name) {
    absl::string_view line;
    uint64_t lineno = 0;
    while (!reader_.stop_ && lines.Next(&line)) {
      ++lineno;
      // A file saved by a Windows editor may start with a UTF-8 byte order mark.
      if (lineno == 1 && absl::StartsWith(line, "\xEF\xBB\xBF")) line.remove_prefix(3);
      if (IsBlank(line)) continue;
      absl::StatusOr<flow::Event> ev = decoder_.Decode(line);
      if (!ev.ok()) {
        absl::Status st = Malformed(name, lineno, line, ev.status());
        if (!st.ok()) return st;
        continue;
      }
      if (!decoder_.new_unknown_enums().empty()) WarnNewUnknownEnums(name, lineno);
      if (IsDuplicate(*ev)) continue;
      Count(*ev);
      if (!callback_(std::move(*ev), line)) {
        reader_.stop_ = true;
        break;
      }
    }
    if (lines.failed()) {
      return absl::DataLossError(
          absl::StrCat("read error in capture file ", name, " after line ", lineno));
    }
    return absl::OkStatus();
  }

  // Counts a line that does not decode and reports it; with `strict` it ends the run.
  absl::Status Malformed(absl::string_view name, uint64_t lineno, absl::string_view line,
                         const absl::Status& why) {
    std::string message = absl::StrCat(name, ":", lineno, ": ", why.message());
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (!trimmed.empty() && absl::ascii_isalpha(static_cast<unsigned char>(trimmed[0]))) {
      // The usual mistake: `hubble observe` without -o jsonpb writes text lines.
      message = absl::StrCat(name, ":", lineno,
                             ": not a JSON object (text such as `hubble observe` prints "
                             "without -o jsonpb?); capture with `hubble observe -o jsonpb`");
    }
    {
      absl::MutexLock lock(&reader_.mu_);
      ++reader_.stats_.malformed;
    }
    if (options_.strict) return absl::InvalidArgumentError(message);
    Report(message);
    return absl::OkStatus();
  }

  void WarnNewUnknownEnums(absl::string_view name, uint64_t lineno) {
    for (const std::string& m : decoder_.new_unknown_enums()) {
      Warn(absl::StrCat(name, ":", lineno, ": ", m,
                        "; further unknown values of this field are counted, not reported"));
    }
  }

  // A flow whose uuid an earlier input had (counted, not delivered).
  bool IsDuplicate(const flow::Event& ev) {
    if (dedupe_ && ev.flow && !ev.flow->uuid.empty() &&
        !seen_uuids_.insert(absl::HashOf(ev.flow->uuid)).second) {
      absl::MutexLock lock(&reader_.mu_);
      ++reader_.stats_.duplicates;
      return true;
    }
    return false;
  }

  void Count(const flow::Event& ev) {
    // Flows are counted locally and published every few thousand lines (and at the end):
    // a lock per line cost more than a few per cent of a capture read.
    ++pending_.events;
    if (ev.flow) ++pending_.flows;
    if (ev.node_status) ++pending_.node_status_events;
    if (pending_.events >= 4096) Publish();
    if (ev.lost) {
      absl::MutexLock lock(&reader_.mu_);
      absl::string_view source = flow::LostEventSourceName(ev.lost->source);
      std::string key =
          source.empty() ? absl::StrCat(static_cast<int>(ev.lost->source)) : std::string(source);
      reader_.stats_.lost_by_source[key] += ev.lost->num_events_lost;
    }
  }

  void Publish() {
    absl::MutexLock lock(&reader_.mu_);
    reader_.stats_.events += pending_.events;
    reader_.stats_.flows += pending_.flows;
    reader_.stats_.node_status_events += pending_.node_status_events;
    pending_ = Pending();
  }

  void Warn(const std::string& message) {
    if (options_.errors != nullptr) {
      *options_.errors << message << "\n";
    } else {
      spdlog::warn("capture {}", message);
    }
  }

  // Reports a malformed line, up to max_reported_errors of them; the rest are only counted.
  void Report(const std::string& message) {
    if (reported_ >= options_.max_reported_errors) {
      ++unreported_;
      return;
    }
    ++reported_;
    if (options_.errors != nullptr) {
      *options_.errors << message << "\n";
    } else {
      spdlog::warn("capture malformed line: {}", message);
    }
  }

  struct Pending {
    uint64_t events = 0, flows = 0, node_status_events = 0;
  };

  CaptureReader& reader_;
  const CaptureOptions& options_;
  const LineEventCallback& callback_;
  flow::JsonDecoder decoder_;
  const bool dedupe_;
  // 64-bit hashes, not the uuids: a collision among a few million flows is not a concern.
  absl::flat_hash_set<uint64_t> seen_uuids_;
  uint64_t reported_ = 0;
  uint64_t unreported_ = 0;
  Pending pending_;
};

absl::Status CaptureReader::RunLines(const LineEventCallback& callback) {
  // A missing file fails before any event is delivered, so a typo in the third --capture
  // does not leave a half-processed run behind.
  for (const std::string& path : files_) {
    absl::Status st = CheckReadable(path);
    if (!st.ok()) return st;
  }
  LinesRun run(*this, callback);
  for (const std::string& path : files_) {
    if (stop_) break;
    absl::Status st = run.ReadFile(path);
    if (!st.ok()) return st;
  }
  run.Summarize();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<flow::Event>> ReadCaptures(const std::vector<std::string>& files,
                                                      flow::SymbolTable& symbols,
                                                      CaptureOptions options, SourceStats* stats) {
  CaptureReader reader(files, symbols, options);
  std::vector<flow::Event> events;
  absl::Status st = reader.Run([&](flow::Event&& ev) {
    events.push_back(std::move(ev));
    return true;
  });
  if (stats != nullptr) *stats = reader.stats();
  if (!st.ok()) return st;
  return events;
}

}  // namespace tw::sources
