#include "app/baseline_handler.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "baseline/persist.h"
#include "common/status_macros.h"
#include "common/time_format.h"
#include "flow/connection.h"
#include "spdlog/spdlog.h"

namespace tw::app {

std::string LearningStartPath(const std::string& snapshot_path) {
  return snapshot_path + ".learning";
}

namespace {

constexpr absl::string_view kLearningKey = "learning_started: ";

std::optional<absl::Time> ReadLearningStart(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  absl::string_view v = absl::StripAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&v, absl::StripAsciiWhitespace(kLearningKey))) {
    spdlog::warn("ignoring unreadable learning start file={}", path);
    return std::nullopt;
  }
  auto t = ParseTime(absl::StripAsciiWhitespace(v));
  if (!t.ok()) {
    spdlog::warn("ignoring unreadable learning start file={} error=\"{}\"", path,
                 std::string(t.status().message()));
    return std::nullopt;
  }
  return *t;
}

class BaselineHandlerImpl final : public BaselineHandler {
 public:
  BaselineHandlerImpl(const config::BaselineConfig& options, flow::SymbolTable& symbols,
                      const TimeSource& clock)
      : saver_(baseline::SaverOptions{options.path, options.save_interval, false}, clock),
        baseline_(symbols),
        dns_(symbols) {}

  absl::Status Init(flow::SymbolTable& symbols) {
    std::error_code ec;
    const bool existed = std::filesystem::exists(saver_.path(), ec);
    TW_ASSIGN_OR_RETURN(baseline_, saver_.Start(symbols));
    learner_ = std::make_unique<baseline::Learner>(baseline_, &dns_);
    if (existed) learning_started_ = ReadLearningStart(LearningStartPath(saver_.path()));
    if (baseline_.source().empty()) baseline_.set_source("tierwatch run");
    connections_.store(baseline_.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }

  void OnEvent(const flow::Event& event) override {
    learner_->Observe(event);
    connections_.store(baseline_.size(), std::memory_order_relaxed);
  }

  absl::Status Save(absl::Time /*now*/) override {
    TW_RETURN_IF_ERROR(saver_.Save(baseline_));
    if (learning_started_) {
      TW_RETURN_IF_ERROR(baseline::WriteFileAtomically(
          LearningStartPath(saver_.path()),
          absl::StrCat(kLearningKey, FormatRfc3339(*learning_started_), "\n")));
    }
    return absl::OkStatus();
  }

  std::optional<absl::Time> learning_started() const override { return learning_started_; }
  void StartLearning(absl::Time now) override { learning_started_ = now; }
  size_t connections() const override { return connections_.load(std::memory_order_relaxed); }
  std::string path() const override { return saver_.path(); }
  const baseline::Baseline* baseline() const override { return &baseline_; }

 private:
  baseline::Saver saver_;
  baseline::Baseline baseline_;
  flow::DnsNameCache dns_;
  std::unique_ptr<baseline::Learner> learner_;
  std::optional<absl::Time> learning_started_;
  std::atomic<size_t> connections_{0};
};

// A documented baseline, as committed to Git and mounted read-only (a sharded deployment's
// shared reference): compared against, never learned into or written.
class DocumentBaselineHandler final : public BaselineHandler {
 public:
  DocumentBaselineHandler(std::string path, baseline::Baseline b)
      : path_(std::move(path)), baseline_(std::move(b)) {}
  void OnEvent(const flow::Event&) override {}
  absl::Status Save(absl::Time) override {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, " is a documented baseline (read-only); learning needs a snapshot path"));
  }
  std::optional<absl::Time> learning_started() const override { return std::nullopt; }
  void StartLearning(absl::Time) override {}
  size_t connections() const override { return baseline_.size(); }
  std::string path() const override { return path_; }
  const baseline::Baseline* baseline() const override { return &baseline_; }
  bool read_only() const override { return true; }

 private:
  std::string path_;
  baseline::Baseline baseline_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BaselineHandler>> MakeBaselineHandler(
    const config::BaselineConfig& options, flow::SymbolTable& symbols, const TimeSource& clock) {
  {
    std::ifstream in(options.path, std::ios::binary);
    char head[16] = {};
    if (in.read(head, sizeof(head)) || in.gcount() > 0) {
      if (baseline::DetectBaselineFile(absl::string_view(head, static_cast<size_t>(in.gcount()))) ==
          baseline::BaselineFileKind::kDocument) {
        TW_ASSIGN_OR_RETURN(baseline::Baseline b, baseline::LoadBaselineAny(options.path, symbols));
        return std::unique_ptr<BaselineHandler>(
            std::make_unique<DocumentBaselineHandler>(options.path, std::move(b)));
      }
    }
  }
  auto learner = std::make_unique<BaselineHandlerImpl>(options, symbols, clock);
  TW_RETURN_IF_ERROR(learner->Init(symbols));
  return std::unique_ptr<BaselineHandler>(std::move(learner));
}

}  // namespace tw::app
