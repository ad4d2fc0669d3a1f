// The daemon end to end inside the process: capture and relay sources, the real baseline
// learner saving snapshots, the learn -> watch switch on a fake clock, periodic saves, and
// config reloads (applied, rejected, reconnecting).
#include "app/daemon.h"

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "app/baseline_handler.h"
#include "baseline/persist.h"
#include "classify/aggregate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/scope.h"
#include "replay/replay_server.h"
#include "test_flows.h"
#include "testing/eventually.h"

namespace tw::app {
namespace {

using testing::FlowEvent;
using testing::FlowSpec;
using ::testing::HasSubstr;
using testing::TempDir;
using tw::testing::Eventually;

const absl::Time kT0 = absl::FromUnixSeconds(1764300000);

// Three connections, each seen twice, plus one DROPPED flow (not learned).
std::vector<flow::Event> SmallTraffic(flow::SymbolTable& s) {
  std::vector<flow::Event> out;
  for (int i = 0; i < 2; ++i) {
    out.push_back(FlowEvent(s, {.unix_seconds = 1764300000 + i}));
    out.push_back(FlowEvent(s, {.dst_app = "n8n", .port = 5678, .unix_seconds = 1764300000 + i}));
    out.push_back(FlowEvent(s, {.src_ns = "observability",
                                .src_app = "vmagent",
                                .dst_app = "odoo",
                                .port = 9100,
                                .unix_seconds = 1764300000 + i}));
  }
  out.push_back(FlowEvent(s, {.dst_app = "redis",
                              .port = 6379,
                              .verdict = flow::Verdict::kDropped,
                              .drop_reason = flow::kDropPolicyDenied,
                              .event_type = flow::kEventDrop,
                              .unix_seconds = 1764300003}));
  return out;
}

LoadedConfig Config(const std::string& yaml, bool captures = true) {
  config::LoadOptions lo;
  lo.require_relay_address = !captures;
  auto cfg = ParseDaemonConfig(yaml, "", lo);
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  return cfg.ok() ? *cfg : LoadedConfig{};
}

std::string LearnYaml(const std::string& baseline_path, const std::string& extra = "") {
  return absl::StrCat("mode: learn\nlearn_for: 1h\nbaseline:\n  path: ", baseline_path,
                      "\n  save_interval: 5m\n", extra);
}

// ---- fakes --------------------------------------------------------------------------

class FakeLearner : public BaselineHandler {
 public:
  struct State {
    absl::Mutex mu;
    int events = 0;
    int saves = 0;
    bool fail_saves = false;
    std::vector<absl::Time> started;
  };
  explicit FakeLearner(std::shared_ptr<State> st, std::optional<absl::Time> since = std::nullopt)
      : st_(std::move(st)), since_(since) {}
  void OnEvent(const flow::Event&) override {
    absl::MutexLock l(&st_->mu);
    ++st_->events;
  }
  absl::Status Save(absl::Time) override {
    absl::MutexLock l(&st_->mu);
    if (st_->fail_saves) return absl::UnavailableError("disk full");
    ++st_->saves;
    return absl::OkStatus();
  }
  std::optional<absl::Time> learning_started() const override { return since_; }
  void StartLearning(absl::Time now) override {
    since_ = now;
    absl::MutexLock l(&st_->mu);
    st_->started.push_back(now);
  }
  size_t connections() const override { return 0; }
  std::string path() const override { return "fake.twb"; }

 private:
  std::shared_ptr<State> st_;
  std::optional<absl::Time> since_;
};

class FakeWatcher : public FlowHandler {
 public:
  explicit FakeWatcher(std::shared_ptr<std::atomic<int>> events) : events_(std::move(events)) {}
  void OnEvent(const flow::Event&) override { ++*events_; }

 private:
  std::shared_ptr<std::atomic<int>> events_;
};

// A relay-like source: delivers what the test feeds it, until stopped. Its state outlives
// the source object (the daemon destroys replaced sources), so a test can still ask a
// replaced source whether it was stopped.
// Orders events across sources: when each Run started and returned.
inline std::atomic<int> g_source_clock{0};

class FedState {
 public:
  explicit FedState(std::string name) : name_(std::move(name)) {}
  absl::Status Run(const sources::EventCallback& cb) {
    {
      absl::MutexLock l(&mu_);
      running_ = true;
      started_at_ = ++g_source_clock;
    }
    struct Returned {
      FedState* s;
      ~Returned() {
        absl::MutexLock l(&s->mu_);
        s->returned_at_ = ++g_source_clock;
      }
    } returned{this};
    for (;;) {
      flow::Event ev;
      {
        absl::MutexLock l(&mu_);
        auto ready = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (stop_) return absl::OkStatus();
        ev = std::move(queue_.front());
        queue_.erase(queue_.begin());
      }
      if (!cb(std::move(ev))) return absl::OkStatus();
      absl::MutexLock l(&mu_);
      ++delivered_;
    }
  }
  void Stop() {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  sources::SourceStats stats() const {
    absl::MutexLock l(&mu_);
    sources::SourceStats s;
    s.events = delivered_;
    return s;
  }
  void Feed(std::vector<flow::Event> events) {
    absl::MutexLock l(&mu_);
    for (auto& e : events) queue_.push_back(std::move(e));
  }
  int delivered() const {
    absl::MutexLock l(&mu_);
    return delivered_;
  }
  bool running() const {
    absl::MutexLock l(&mu_);
    return running_;
  }
  bool stopped() const {
    absl::MutexLock l(&mu_);
    return stop_;
  }
  const std::string& name() const { return name_; }
  int started_at() const {
    absl::MutexLock l(&mu_);
    return started_at_;
  }
  int returned_at() const {
    absl::MutexLock l(&mu_);
    return returned_at_;
  }

 private:
  const std::string name_;
  mutable absl::Mutex mu_;
  int started_at_ = 0;
  int returned_at_ = 0;
  std::vector<flow::Event> queue_;
  bool stop_ = false;
  bool running_ = false;
  int delivered_ = 0;
};

class FedSource : public sources::FlowSource {
 public:
  explicit FedSource(std::shared_ptr<FedState> st) : st_(std::move(st)) {}
  absl::Status Run(const sources::EventCallback& cb) override { return st_->Run(cb); }
  void Stop() override { st_->Stop(); }
  sources::SourceStats stats() const override { return st_->stats(); }

 private:
  std::shared_ptr<FedState> st_;
};

// Hands out FedSources and keeps their states.
struct SourceBox {
  absl::Mutex mu;
  std::vector<std::shared_ptr<FedState>> made;
  FedState* last() {
    absl::MutexLock l(&mu);
    return made.empty() ? nullptr : made.back().get();
  }
  size_t count() {
    absl::MutexLock l(&mu);
    return made.size();
  }
};

DaemonOptions FakeOptions(std::shared_ptr<FakeLearner::State> learner,
                          std::shared_ptr<std::atomic<int>> watched, SourceBox* box) {
  DaemonOptions o;
  o.tick_interval = absl::ZeroDuration();
  o.learner_factory = [learner](
                          const config::BaselineConfig&, flow::SymbolTable&,
                          const TimeSource&) -> absl::StatusOr<std::unique_ptr<BaselineHandler>> {
    return std::unique_ptr<BaselineHandler>(std::make_unique<FakeLearner>(learner));
  };
  o.watcher_factory =
      [watched](const config::DaemonConfig&, flow::SymbolTable&, const baseline::Baseline*,
                metrics::Scope&,
                std::vector<DropHandler*>) -> absl::StatusOr<std::unique_ptr<FlowHandler>> {
    return std::unique_ptr<FlowHandler>(std::make_unique<FakeWatcher>(watched));
  };
  o.source_factory =
      [box](const LoadedConfig& cfg,
            flow::SymbolTable&) -> absl::StatusOr<std::unique_ptr<sources::FlowSource>> {
    auto state = std::make_shared<FedState>(cfg.config.relay.address);
    absl::MutexLock l(&box->mu);
    box->made.push_back(state);
    return std::unique_ptr<sources::FlowSource>(std::make_unique<FedSource>(state));
  };
  return o;
}

// ---- capture source + real baseline ----------------------------------------------------

TEST(DaemonTest, LearnsFromCapturesAndSavesTheSnapshotOnShutdown) {
  TempDir dir;
  flow::SymbolTable s;
  std::string capture = testing::WriteCapture(dir / "before.jsonl", SmallTraffic(s));
  std::string snapshot = (dir / "state/baseline.twb").string();
  std::filesystem::create_directories(dir / "state");
  ManualTimeSource clock(kT0);

  DaemonOptions opts;
  opts.captures = {capture};
  opts.tick_interval = absl::ZeroDuration();
  Daemon daemon(Config(LearnYaml(snapshot)), opts, clock);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(daemon.WaitForStop(absl::Seconds(60)));  // the capture ends the run
  RunReport r = daemon.Shutdown();

  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.stop_reason, "source ended");
  EXPECT_EQ(r.mode, config::Mode::kLearn);
  EXPECT_EQ(r.summary.flows, 7u);
  EXPECT_EQ(r.summary.by_verdict["DROPPED"], 1u);
  EXPECT_EQ(r.pipeline.processed, 7u);
  EXPECT_EQ(r.source.flows, 7u);
  EXPECT_EQ(r.recent_drops_total, 0u);  // the ring keeps classified drops: none while learning
  EXPECT_THAT(r.source_description, HasSubstr("before.jsonl"));
  ASSERT_TRUE(r.baseline.has_value());
  EXPECT_EQ(r.baseline->connections, 3u);
  EXPECT_EQ(r.baseline->saves, 1u);  // the final save
  EXPECT_EQ(r.baseline->learning_started, kT0);

  flow::SymbolTable s2;
  auto loaded = baseline::LoadSnapshot(snapshot, s2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(LearningStartPath(snapshot)));

  // Idempotent: a second Shutdown returns the same report.
  EXPECT_EQ(daemon.Shutdown().summary.flows, 7u);
}

TEST(DaemonTest, ARestartKeepsTheLearningPeriodAndEndsItWhenDue) {
  TempDir dir;
  flow::SymbolTable s;
  std::string capture = testing::WriteCapture(dir / "c.jsonl", SmallTraffic(s));
  std::string snapshot = (dir / "baseline.twb").string();
  DaemonOptions opts;
  opts.captures = {capture};
  opts.tick_interval = absl::ZeroDuration();
  {
    ManualTimeSource clock(kT0);
    Daemon d(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(d.Start().ok());
    d.WaitForStop(absl::Seconds(60));
    ASSERT_EQ(d.Shutdown().baseline->connections, 3u);
  }
  {
    // 30 minutes later: still learning, and learning started at T0, not now.
    ManualTimeSource clock(kT0 + absl::Minutes(30));
    Daemon d(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(d.Start().ok());
    d.Sync();
    EXPECT_EQ(d.mode(), config::Mode::kLearn);
    d.WaitForStop(absl::Seconds(60));
    RunReport r = d.Shutdown();
    EXPECT_EQ(r.baseline->learning_started, kT0);
    EXPECT_EQ(r.mode, config::Mode::kLearn);
  }
  {
    // Past learn_for (1h): the period ran out while the daemon was down; it watches.
    ManualTimeSource clock(kT0 + absl::Minutes(61));
    Daemon d(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(d.Start().ok());
    d.Sync();
    EXPECT_EQ(d.mode(), config::Mode::kWatch);
    d.WaitForStop(absl::Seconds(60));
    RunReport r = d.Shutdown();
    EXPECT_EQ(r.mode, config::Mode::kWatch);
    ASSERT_TRUE(r.switched_to_watch_at.has_value());
    EXPECT_EQ(r.baseline->connections, 3u);  // watch mode does not learn
  }
  {
    // A deleted snapshot starts a new period, whatever the side file says.
    std::filesystem::remove(snapshot);
    ManualTimeSource clock(kT0 + absl::Hours(5));
    Daemon d(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(d.Start().ok());
    d.Sync();
    EXPECT_EQ(d.mode(), config::Mode::kLearn);
    d.WaitForStop(absl::Seconds(60));
    EXPECT_EQ(d.Shutdown().baseline->learning_started, kT0 + absl::Hours(5));
  }
}

TEST(DaemonTest, ACorruptBaselineStopsTheStart) {
  TempDir dir;
  std::string snapshot = (dir / "baseline.twb").string();
  testing::WriteText(snapshot, "TWBASE this is not a snapshot at all, just text");
  ManualTimeSource clock(kT0);
  DaemonOptions opts;
  opts.captures = {testing::WriteCapture(dir / "c.jsonl", {})};
  opts.tick_interval = absl::ZeroDuration();
  Daemon d(Config(LearnYaml(snapshot)), opts, clock);
  absl::Status st = d.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("baseline.twb"));
  // Never overwritten.
  std::ifstream in(snapshot);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "TWBASE this is not a snapshot at all, just text");
  EXPECT_EQ(d.Shutdown().stop_reason, "not started");
}

TEST(DaemonTest, WatchModeClassifiesDropsAgainstTheLearnedBaseline) {
  TempDir dir;
  flow::SymbolTable s;
  std::string snapshot = (dir / "baseline.twb").string();
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  ManualTimeSource clock(kT0);
  {
    opts.captures = {testing::WriteCapture(dir / "before.jsonl", SmallTraffic(s))};
    Daemon learn(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(learn.Start().ok());
    learn.WaitForStop(absl::Seconds(60));
    ASSERT_EQ(learn.Shutdown().baseline->connections, 3u);
  }
  auto drop = [&](FlowSpec spec, int64_t at) {
    spec.verdict = flow::Verdict::kDropped;
    spec.drop_reason = flow::kDropPolicyDenied;
    spec.event_type = flow::kEventDrop;
    spec.unix_seconds = at;
    return FlowEvent(s, spec);
  };
  std::vector<flow::Event> after = {
      drop({}, 1764400000),                                  // learned: a regression
      drop({.dst_app = "redis", .port = 6379}, 1764400002),  // never seen: expected
      drop({.src_ns = "observability", .src_app = "vmagent", .dst_app = "odoo", .port = 9100},
           1764400004),  // a scrape
      FlowEvent(s, {.dst_app = "n8n", .port = 5678, .unix_seconds = 1764400006}),
  };
  opts.captures = {testing::WriteCapture(dir / "after.jsonl", after)};
  Daemon watch(Config("mode: watch\nbaseline: {path: " + snapshot + "}\n"), opts, clock);
  ASSERT_TRUE(watch.Start().ok());
  watch.WaitForStop(absl::Seconds(60));
  RunReport r = watch.Shutdown();
  EXPECT_EQ(r.mode, config::Mode::kWatch);
  ASSERT_TRUE(r.watch.has_value());
  const classify::AggregateSnapshot& counts = r.watch->counts;
  EXPECT_EQ(counts.events, 3u);
  EXPECT_EQ(counts.of(classify::DropClass::kBaselineRegression).events, 1u);
  EXPECT_EQ(counts.of(classify::DropClass::kExpectedDeny).events, 1u);
  EXPECT_EQ(counts.of(classify::DropClass::kMetricsScrapeBlocked).events, 1u);
  auto regressions = counts.Top(classify::DropClass::kBaselineRegression);
  ASSERT_EQ(regressions.size(), 1u);
  EXPECT_EQ(regressions[0]->connection, "business/odoo -> business/postgres:5432/TCP");
  EXPECT_TRUE(regressions[0]->in_baseline);
  EXPECT_EQ(r.watch->bypass_label, "policy.cilium.io/enforce=false");
}

TEST(DaemonTest, ABadTierFileStopsTheStart) {
  TempDir dir;
  testing::WriteText(dir / "tiers.yaml", "tiers:\n  - wrong: shape\n");
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  opts.captures = {testing::WriteCapture(dir / "c.jsonl", {})};
  ManualTimeSource clock(kT0);
  Daemon d(Config("mode: watch\ntiers: " + (dir / "tiers.yaml").string() + "\n"), opts, clock);
  absl::Status st = d.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("tiers.yaml:"));
}

TEST(DaemonTest, AMissingRelayCertificateStopsTheStart) {
  TempDir dir;
  ManualTimeSource clock(kT0);
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  std::string ca = (dir / "missing-ca.pem").string();
  Daemon d(Config("relay: {address: a:1, tls: {enabled: true, ca_file: " + ca + "}}\nmode: watch\n",
                  false),
           opts, clock);
  absl::Status st = d.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("relay.tls:"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("missing-ca.pem"));
}

// ---- mode switch, periodic save, reload (fakes, fake clock) -------------------------------

TEST(DaemonTest, SwitchesFromLearnToWatchAfterLearnForOnTheInjectedClock) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  Daemon d(Config(LearnYaml("/unused/b.twb", "relay: {address: relay-a:4245}\n"), false),
           FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  flow::SymbolTable s;
  box.last()->Feed(SmallTraffic(s));
  ASSERT_TRUE(Eventually([&] { return box.last()->delivered() == 7; }));
  d.Sync();
  {
    absl::MutexLock l(&learner->mu);
    EXPECT_EQ(learner->events, 7);
    ASSERT_EQ(learner->started.size(), 1u);  // a fresh baseline starts its period now
    EXPECT_EQ(learner->started[0], kT0);
  }
  clock.Advance(absl::Minutes(59));
  d.Tick();
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kLearn);

  clock.Advance(absl::Minutes(1));
  d.Tick();
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kWatch);
  {
    absl::MutexLock l(&learner->mu);
    EXPECT_EQ(learner->saves, 2);  // the periodic save at 59m, then the one before switching
  }

  // From now on events go to the watcher, not the learner.
  box.last()->Feed(SmallTraffic(s));
  ASSERT_TRUE(Eventually([&] { return box.last()->delivered() == 14; }));
  d.Sync();
  EXPECT_EQ(watched->load(), 7);
  {
    absl::MutexLock l(&learner->mu);
    EXPECT_EQ(learner->events, 7);
  }
  d.RequestStop("test");
  RunReport r = d.Shutdown();
  EXPECT_EQ(r.stop_reason, "test");
  EXPECT_EQ(r.mode, config::Mode::kWatch);
  EXPECT_EQ(r.switched_to_watch_at, kT0 + absl::Hours(1));
  EXPECT_EQ(r.summary.flows, 14u);
  {
    absl::MutexLock l(&learner->mu);
    EXPECT_EQ(learner->saves, 2);  // no final save in watch mode: nothing new was learned
  }
}

TEST(DaemonTest, SavesTheBaselineEverySaveInterval) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  Daemon d(Config(LearnYaml("/unused/b.twb", "relay: {address: a:1}\n"), false),
           FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  auto saves = [&] {
    d.Sync();
    absl::MutexLock l(&learner->mu);
    return learner->saves;
  };
  EXPECT_EQ(saves(), 0);
  clock.Advance(absl::Minutes(4));
  d.Tick();
  EXPECT_EQ(saves(), 0);
  clock.Advance(absl::Minutes(1));
  d.Tick();
  EXPECT_EQ(saves(), 1);
  clock.Advance(absl::Minutes(3));
  d.Tick();
  EXPECT_EQ(saves(), 1);
  clock.Advance(absl::Minutes(2));
  d.Tick();
  EXPECT_EQ(saves(), 2);
  RunReport r = d.Shutdown();
  EXPECT_EQ(saves(), 3);  // and once more on shutdown
  EXPECT_EQ(r.baseline->saves, 3u);
}

TEST(DaemonTest, AFailedSaveIsSurvivedButAFailedFinalSaveIsReported) {
  auto learner = std::make_shared<FakeLearner::State>();
  learner->fail_saves = true;
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  Daemon d(Config(LearnYaml("/unused/b.twb", "relay: {address: a:1}\n"), false),
           FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  clock.Advance(absl::Minutes(5));
  d.Tick();
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kLearn);  // still running
  RunReport r = d.Shutdown();
  EXPECT_EQ(r.baseline->saves, 0u);
  EXPECT_EQ(r.baseline->save_errors, 2u);  // the periodic one and the final one
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(std::string(r.status.message()), HasSubstr("final baseline save"));
}

TEST(DaemonTest, ReloadSwitchesModeAndReconnectsWhenTheRelayChanges) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  const std::string base = LearnYaml("/unused/b.twb");
  Daemon d(Config(base + "relay: {address: relay-a:4245}\n", false),
           FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(Eventually([&] { return box.last()->running(); }));
  FedState* first = box.last();

  // Same relay, mode changed: switch without reconnecting.
  std::string watch = "mode: watch\nlearn_for: 1h\nbaseline: {path: /unused/b.twb}\n";
  ASSERT_TRUE(d.Apply(Config(watch + "relay: {address: relay-a:4245}\n", false)).ok());
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kWatch);
  EXPECT_EQ(box.count(), 1u);

  // Relay changed: a new source, the old one stopped, flows continue from the new one.
  ASSERT_TRUE(d.Apply(Config(watch + "relay: {address: relay-b:4245}\n", false)).ok());
  ASSERT_EQ(box.count(), 2u);
  EXPECT_TRUE(first->stopped());
  FedState* second = box.last();
  EXPECT_EQ(second->name(), "relay-b:4245");
  ASSERT_TRUE(Eventually([&] { return second->running(); }));
  // The old stream had returned before the new one could deliver anything.
  EXPECT_GT(first->returned_at(), 0);
  EXPECT_LT(first->returned_at(), second->started_at());
  flow::SymbolTable s;
  second->Feed(SmallTraffic(s));
  ASSERT_TRUE(Eventually([&] { return second->delivered() == 7; }));

  // Filters are relay settings too.
  ASSERT_TRUE(d.Apply(Config(watch + "relay:\n  address: relay-b:4245\n  filters:\n"
                                     "    whitelist: [{verdict: [DROPPED]}]\n",
                             false))
                  .ok());
  EXPECT_EQ(box.count(), 3u);
  EXPECT_TRUE(second->stopped());
  FedState* third = box.last();
  ASSERT_TRUE(Eventually([&] { return third->running(); }));

  // Back to learn: learning resumes, with a new period starting now.
  clock.Advance(absl::Minutes(10));
  ASSERT_TRUE(d.Apply(Config(base + "relay:\n  address: relay-b:4245\n  filters:\n"
                                    "    whitelist: [{verdict: [DROPPED]}]\n",
                             false))
                  .ok());
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kLearn);
  {
    absl::MutexLock l(&learner->mu);
    ASSERT_EQ(learner->started.size(), 2u);
    EXPECT_EQ(learner->started[1], kT0 + absl::Minutes(10));
  }
  RunReport r = d.Shutdown();
  EXPECT_EQ(r.reloads, 4u);
  EXPECT_EQ(r.source_restarts, 2u);
  EXPECT_EQ(r.summary.flows, 7u);
  EXPECT_EQ(watched->load(), 7);
}

TEST(DaemonTest, AnUnchangedModeInTheFileDoesNotUndoTheAutomaticSwitch) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  const std::string yaml = LearnYaml("/unused/b.twb", "relay: {address: a:1}\n");
  Daemon d(Config(yaml, false), FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  clock.Advance(absl::Hours(2));
  d.Tick();
  d.Sync();
  ASSERT_EQ(d.mode(), config::Mode::kWatch);
  // The file still says mode: learn; only the log level changed.
  ASSERT_TRUE(d.Apply(Config(yaml + "log: {level: debug}\n", false)).ok());
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kWatch);
  d.Shutdown();
}

TEST(DaemonTest, AnInvalidConfigOnReloadIsRejectedAndTheRunningOneKept) {
  TempDir dir;
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  std::filesystem::path path = dir / "tierwatch.yaml";
  const std::string good = LearnYaml("/unused/b.twb", "relay: {address: a:1}\n");
  testing::WriteText(path, good);
  DaemonOptions opts = FakeOptions(learner, watched, &box);
  opts.config_path = path.string();
  auto cfg = LoadDaemonConfig(path.string());
  ASSERT_TRUE(cfg.ok());
  Daemon d(*cfg, opts, clock);
  ASSERT_TRUE(d.Start().ok());

  testing::WriteText(path, "relay: {address: a:1}\nmode: watching\nlearn_for: soon\n");
  absl::Status st = d.Reload();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("tierwatch.yaml:2:7: error: mode: expected learn or watch"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("tierwatch.yaml:3:12: error: learn_for:"));
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kLearn);
  EXPECT_EQ(box.count(), 1u);

  testing::WriteText(path, "relay: {address: a:1}\nmode: watch\nbaseline: {path: /unused/b.twb}\n");
  ASSERT_TRUE(d.Reload().ok());
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kWatch);
  RunReport r = d.Shutdown();
  EXPECT_EQ(r.reloads, 1u);
  EXPECT_EQ(r.reload_errors, 1u);
}

TEST(DaemonTest, WaitForStopTimesOutWhileTheRelayFollows) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  Daemon d(Config(LearnYaml("/unused/b.twb", "relay: {address: a:1}\n"), false),
           FakeOptions(learner, watched, &box), clock);
  ASSERT_TRUE(d.Start().ok());
  EXPECT_FALSE(d.WaitForStop(absl::Milliseconds(50)));
  d.RequestStop("first");
  d.RequestStop("second");
  EXPECT_TRUE(d.WaitForStop(absl::Seconds(30)));
  EXPECT_EQ(d.Shutdown().stop_reason, "first");
}

// ---- the real relay client against the in-process replay relay ---------------------------

TEST(DaemonTest, LearnsThroughARelayOverLoopback) {
  TempDir dir;
  flow::SymbolTable s;
  replay::ReplayOptions ro;
  ro.listen = "127.0.0.1:0";
  replay::ReplayServer server(SmallTraffic(s), ro);
  ASSERT_TRUE(server.Start().ok());

  std::string snapshot = (dir / "baseline.twb").string();
  RealTimeSource clock;
  DaemonOptions opts;
  opts.tick_interval = absl::Milliseconds(100);
  // backlog: all — the replay holds the whole capture from the start, as agents' ring
  // buffers hold recent flows; without it a follower sees only flows from now on.
  Daemon d(Config(LearnYaml(snapshot, absl::StrCat("relay: {address: \"", server.address(),
                                                   "\", backlog: all}\n")),
                  false),
           opts, clock);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(Eventually([&] { return d.summary().flows == 7; }));
  d.RequestStop("test");
  RunReport r = d.Shutdown();
  server.Shutdown();
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.summary.flows, 7u);
  EXPECT_GE(r.summary.node_status_events, 1u);  // the relay announces its nodes first
  EXPECT_THAT(r.source_description, HasSubstr("relay 127.0.0.1:"));
  ASSERT_TRUE(r.baseline.has_value());
  EXPECT_EQ(r.baseline->connections, 3u);
  flow::SymbolTable s2;
  auto loaded = baseline::LoadSnapshot(snapshot, s2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 3u);
}

// ---- regressions: reload races and resumes; watch without a baseline ----------------------

// SIGHUP can arrive while Start is still loading the baseline (the signal thread exists
// first). It used to run concurrently with Start: the mode change was lost (no pipeline
// yet to post it to) while the file's new mode was recorded, so the daemon learned on.
TEST(DaemonTest, AReloadDuringStartIsAppliedOnceStartHasFinished) {
  TempDir dir;
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  std::filesystem::path path = dir / "tierwatch.yaml";
  testing::WriteText(path, LearnYaml("/unused/b.twb", "relay: {address: a:1}\n"));
  DaemonOptions opts = FakeOptions(learner, watched, &box);
  opts.config_path = path.string();
  absl::Notification entered, unblock;
  BaselineFactory fake = opts.learner_factory;
  opts.learner_factory = [&, fake](const config::BaselineConfig& c, flow::SymbolTable& s,
                                   const TimeSource& t) {
    entered.Notify();
    unblock.WaitForNotification();  // a slow baseline load
    return fake(c, s, t);
  };
  auto cfg = LoadDaemonConfig(path.string());
  ASSERT_TRUE(cfg.ok());
  Daemon d(*cfg, opts, clock);
  absl::Status started;
  std::thread starter([&] { started = d.Start(); });
  entered.WaitForNotification();
  testing::WriteText(path, "relay: {address: a:1}\nmode: watch\nbaseline: {path: /unused/b.twb}\n");
  EXPECT_TRUE(d.Reload().ok());  // accepted, deferred
  unblock.Notify();
  starter.join();
  ASSERT_TRUE(started.ok()) << started;
  d.Sync();
  EXPECT_EQ(d.mode(), config::Mode::kWatch);
  RunReport r = d.Shutdown();
  EXPECT_EQ(r.reloads, 1u);
  EXPECT_EQ(r.mode, config::Mode::kWatch);
}

// A reload that changes the relay section used to resume the new stream at exactly the
// newest flow time already read (flows at that time came twice; flows of other nodes the
// relay still had to sort in were skipped) and with no de-duplication. The new client now
// continues the old one's stream as a reconnect would: since = newest - resume_window, and
// what was delivered before is dropped by uuid.
TEST(DaemonTest, AReloadedRelayResumesWithTheWindowAndDeliversNothingTwice) {
  TempDir dir;
  flow::SymbolTable s;
  std::vector<flow::Event> flows;
  for (int i = 0; i < 10; ++i) {
    flows.push_back(FlowEvent(s, {.port = static_cast<uint16_t>(1000 + i),
                                  .unix_seconds = 1764300000 + i,
                                  .uuid = absl::StrCat("uuid-", i)}));
  }
  replay::ReplayOptions ro;
  ro.listen = "127.0.0.1:0";
  replay::ReplayServer server(flows, ro);
  ASSERT_TRUE(server.Start().ok());
  RealTimeSource clock;
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  const std::string snapshot = (dir / "baseline.twb").string();
  auto relay = [&](const std::string& extra) {
    return absl::StrCat("relay: {address: \"", server.address(), "\", backlog: all", extra, "}\n");
  };
  Daemon d(Config(LearnYaml(snapshot, relay("")), false), opts, clock);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(Eventually([&] { return d.Status().summary.flows == 10; }));

  ASSERT_TRUE(d.Apply(Config(LearnYaml(snapshot, relay(", keepalive: 20s")), false)).ok());
  // The replacement re-reads the last 2 s (flows 7, 8, 9) and drops them as seen.
  ASSERT_TRUE(Eventually([&] {
    RunReport r = d.Status();
    return r.source_restarts == 1 && r.source.duplicates >= 3;
  })) << d.Status().source.duplicates;
  d.Sync();
  RunReport r = d.Shutdown();
  server.Shutdown();
  EXPECT_EQ(r.summary.flows, 10u);  // nothing twice
  EXPECT_EQ(r.source.duplicates, 3u);
  EXPECT_EQ(r.source.flows, 10u);
  ASSERT_TRUE(r.baseline.has_value());
  EXPECT_EQ(r.baseline->connections, 10u);
}

TEST(DaemonTest, WatchModeRefusesABaselinePathThatNamesNoFile) {
  TempDir dir;
  ManualTimeSource clock(kT0);
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  opts.captures = {testing::WriteCapture(dir / "c.jsonl", {})};
  const std::string missing = (dir / "typo.twb").string();
  Daemon d(Config("mode: watch\nbaseline: {path: " + missing + "}\n"), opts, clock);
  absl::Status st = d.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("baseline.path: no baseline at " + missing));
  EXPECT_FALSE(std::filesystem::exists(missing));  // not created either
}

TEST(DaemonTest, WatchModeWithoutABaselineRunsAndSaysSoInTheMetrics) {
  TempDir dir;
  flow::SymbolTable s;
  ManualTimeSource clock(kT0);
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  opts.captures = {testing::WriteCapture(dir / "c.jsonl", SmallTraffic(s))};
  Daemon d(Config("mode: watch\n"), opts, clock);
  ASSERT_TRUE(d.Start().ok());
  d.WaitForStop(absl::Seconds(60));
  auto families = d.metrics().Collect();
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_baseline_loaded"), 0);
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_baseline_connections"), 0);
  RunReport r = d.Shutdown();
  EXPECT_FALSE(r.baseline.has_value());
  ASSERT_TRUE(r.watch.has_value());
  EXPECT_EQ(r.watch->counts.events, 1u);  // the one drop, as expected_deny
}

// ---- the daemon's face: status, metrics, ring, probes, baseline document ----------------

TEST(DaemonTest, StatusMetricsAndTheRingReadTheSameNumbers) {
  TempDir dir;
  flow::SymbolTable s;
  std::string snapshot = (dir / "baseline.twb").string();
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  ManualTimeSource clock(kT0);
  {
    opts.captures = {testing::WriteCapture(dir / "before.jsonl", SmallTraffic(s))};
    Daemon learn(Config(LearnYaml(snapshot)), opts, clock);
    ASSERT_TRUE(learn.Start().ok());
    learn.WaitForStop(absl::Seconds(60));
    learn.Shutdown();
  }
  auto drop = [&](FlowSpec spec, int64_t at, const std::string& uuid) {
    spec.verdict = flow::Verdict::kDropped;
    spec.drop_reason = flow::kDropPolicyDenied;
    spec.event_type = flow::kEventDrop;
    spec.unix_seconds = at;
    spec.uuid = uuid;
    return FlowEvent(s, spec);
  };
  std::vector<flow::Event> after = {
      drop({}, 1764400000, "u1"),
      drop({.dst_app = "redis", .port = 6379}, 1764400002, "u2"),
      drop({.dst_app = "redis", .port = 6379}, 1764400004, "u3"),
      testing::LostEvent(4),
  };
  opts.captures = {testing::WriteCapture(dir / "after.jsonl", after)};
  Daemon d(Config("mode: watch\nrecent_drops: 2\nbaseline: {path: " + snapshot + "}\n"), opts,
           clock);
  ASSERT_TRUE(d.Start().ok());
  d.WaitForStop(absl::Seconds(60));
  RunReport r = d.Shutdown();
  auto families = d.metrics().Collect();
  using metrics::SumOf;
  EXPECT_EQ(SumOf(families, "tierwatch_drops_total"), 3);
  EXPECT_EQ(SumOf(families, "tierwatch_drops_total", {{"class", "baseline_regression"}}),
            r.watch->counts.of(classify::DropClass::kBaselineRegression).events);
  EXPECT_EQ(SumOf(families, "tierwatch_drops_total", {{"class", "expected_deny"}}), 2);
  EXPECT_EQ(SumOf(families, "tierwatch_dropped_connections", {{"class", "expected_deny"}}),
            r.watch->counts.of(classify::DropClass::kExpectedDeny).connections);
  EXPECT_EQ(SumOf(families, "tierwatch_flows_total"), r.summary.flows);
  EXPECT_EQ(SumOf(families, "tierwatch_relay_lost_events_total"), r.summary.lost_events);
  EXPECT_EQ(SumOf(families, "tierwatch_pipeline_processed_total"), r.pipeline.processed);
  EXPECT_EQ(SumOf(families, "tierwatch_baseline_connections"), 3);
  EXPECT_EQ(SumOf(families, "tierwatch_mode", {{"mode", "watch"}}), 1);
  EXPECT_EQ(SumOf(families, "tierwatch_build_info"), 1);
  EXPECT_EQ(r.summary.lost_events, 4u);
  // The ring: the newest two of three, with the reasoning `analyze --explain` prints.
  EXPECT_EQ(r.recent_drops_total, 3u);
  auto ring = d.recent_drops().Snapshot();
  ASSERT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring[1]->flow.uuid, "u3");
  EXPECT_FALSE(ring[1]->reasoning.empty());
  EXPECT_EQ(d.recent_drops().Find(ring[0]->id), ring[0]);
  EXPECT_EQ(d.recent_drops().Find(classify::DropId(after[0].flow.value())), nullptr);
}

TEST(DaemonTest, ProbesAndTheBaselineDocument) {
  auto learner = std::make_shared<FakeLearner::State>();
  auto watched = std::make_shared<std::atomic<int>>(0);
  SourceBox box;
  ManualTimeSource clock(kT0);
  DaemonOptions opts = FakeOptions(learner, watched, &box);
  opts.tick_interval = absl::Hours(1);  // a ticker that (for this test) never fires
  Daemon d(Config(LearnYaml("/unused/b.twb", "relay: {address: a:1}\n"), false), opts, clock);
  EXPECT_FALSE(d.Readiness().ok);
  EXPECT_THAT(d.Readiness().reason, HasSubstr("starting"));
  ASSERT_TRUE(d.Start().ok());
  d.Sync();
  // Not ready until the relay delivered something.
  EXPECT_FALSE(d.Readiness().ok);
  EXPECT_THAT(d.Readiness().reason, HasSubstr("waiting for the first response from the relay a:1"));
  flow::SymbolTable s;
  box.last()->Feed({FlowEvent(s, {})});
  ASSERT_TRUE(Eventually([&] { return d.Readiness().ok; }));
  EXPECT_TRUE(d.Liveness().ok);
  // No tick for longer than stall_timeout: the worker counts as stuck.
  clock.Advance(absl::Minutes(6));
  EXPECT_FALSE(d.Liveness().ok);
  EXPECT_THAT(d.Liveness().reason, HasSubstr("has not run a tick for 6m"));
  d.Tick();
  d.Sync();
  EXPECT_TRUE(d.Liveness().ok);
  // The fake learner keeps no exportable baseline.
  auto doc = d.BaselineDocument(baseline::DocumentFormat::kJson, absl::Seconds(30));
  EXPECT_TRUE(absl::IsNotFound(doc.status())) << doc.status();
  d.Shutdown();
  EXPECT_FALSE(d.Readiness().ok);
}

TEST(DaemonTest, TheBaselineDocumentIsExportedOnTheWorker) {
  TempDir dir;
  flow::SymbolTable s;
  ManualTimeSource clock(kT0);
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  opts.captures = {testing::WriteCapture(dir / "c.jsonl", SmallTraffic(s))};
  Daemon d(Config(LearnYaml((dir / "b.twb").string())), opts, clock);
  ASSERT_TRUE(d.Start().ok());
  d.WaitForStop(absl::Seconds(60));
  auto json = d.BaselineDocument(baseline::DocumentFormat::kJson, absl::Seconds(30));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"TierwatchBaseline\""));
  EXPECT_THAT(*json, HasSubstr("postgres"));
  auto yaml = d.BaselineDocument(baseline::DocumentFormat::kYaml, absl::Seconds(30));
  ASSERT_TRUE(yaml.ok());
  EXPECT_THAT(*yaml, HasSubstr("kind: TierwatchBaseline"));
  d.Shutdown();

  Daemon none(Config("mode: watch\n"), opts, clock);
  ASSERT_TRUE(none.Start().ok());
  EXPECT_TRUE(absl::IsNotFound(
      none.BaselineDocument(baseline::DocumentFormat::kJson, absl::Seconds(30)).status()));
  none.Shutdown();
}

}  // namespace
}  // namespace tw::app
