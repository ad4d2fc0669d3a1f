// The live suggestion handler: which drops it keeps (the four classes, policy drops only),
// its bound (further connections are counted, not kept), computations only when something
// changed and no sooner than the interval, selectors chosen among every workload the stream
// or the learned baseline showed, the metrics — and, wired into the daemon, the set served
// by /api/v1/suggestions.
#include "app/suggestion_handler.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/routes.h"
#include "app/daemon.h"
#include "app/test_flows.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/scope.h"
#include "suggest/render.h"

namespace tw::app {
namespace {

using classify::Classification;
using classify::DropClass;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1764400000);
constexpr absl::Duration kWait = absl::Seconds(60);  // turns a hang into a failure

struct DropSpec {
  DropClass cls = DropClass::kBaselineRegression;
  std::string src_ns = "business";
  std::string src_app = "odoo";
  std::string dst_ns = "business";
  std::string dst_app = "postgres";
  uint16_t port = 5432;
  flow::Verdict verdict = flow::Verdict::kDropped;
  uint32_t drop_reason = flow::kDropPolicyDenied;
  int64_t at = 1764400000;
  bool keyed = true;  // has a connection key
};

std::shared_ptr<const Classification> Drop(flow::SymbolTable& s, const DropSpec& d) {
  auto c = std::make_shared<Classification>();
  c->id = "000000000001";
  c->drop_class = d.cls;
  c->severity = classify::SeverityOf(d.cls);
  c->predicted = d.verdict == flow::Verdict::kAudit;
  c->flow.time = absl::FromUnixSeconds(d.at);
  c->flow.verdict = d.verdict;
  c->flow.drop_reason_desc = d.drop_reason;
  c->flow.event_type = flow::kEventDrop;
  c->flow.node_name = s.Intern("worker-1");
  c->flow.source = testing::Ep(s, d.src_ns, d.src_app);
  c->flow.destination = testing::Ep(s, d.dst_ns, d.dst_app);
  if (d.keyed) {
    c->connection =
        flow::ConnectionKey{flow::Peer::Workload(s.Intern(d.src_ns), s.Intern(d.src_app)),
                            flow::Peer::Workload(s.Intern(d.dst_ns), s.Intern(d.dst_app)),
                            flow::Protocol::kTCP, d.port};
  }
  return c;
}

// An endpoint of workload `name` with these app/version labels (bookinfo's reviews-v1..v3).
flow::Endpoint Versioned(flow::SymbolTable& s, const std::string& ns, const std::string& app,
                         const std::string& version, uint32_t identity) {
  flow::Endpoint e;
  e.namespace_ = s.Intern(ns);
  e.labels = {s.Intern("k8s:app=" + app), s.Intern("k8s:version=" + version),
              s.Intern("k8s:io.kubernetes.pod.namespace=" + ns)};
  e.workloads = {{s.Intern(app + "-" + version), s.Intern("Deployment")}};
  e.identity = identity;
  e.reserved = flow::ComputeReserved(e);
  return e;
}

class SuggestionHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<SuggestionHandler> Make(SuggestionHandlerOptions o = {},
                                          const baseline::Baseline* learned = nullptr) {
    return std::make_unique<SuggestionHandler>(std::make_unique<tier::TierModel>(),
                                               policy::PolicySet{}, s_, learned, scope_,
                                               std::move(o));
  }
  // A tick, then the computation it may have started.
  void TickAndWait(SuggestionHandler& h, absl::Time at) {
    h.OnTick(at);
    ASSERT_TRUE(h.WaitIdle(kWait));
  }
  double Metric(const std::string& name, const prometheus::Labels& labels = {}) {
    return metrics::SumOf(scope_.Collect(), name, labels).value_or(-1);
  }

  flow::SymbolTable s_;
  metrics::Scope scope_;
};

TEST_F(SuggestionHandlerTest, KeepsTheConnectionsOfTheFourClassesOnly) {
  auto h = Make();
  const std::vector<DropClass> kept = {DropClass::kBaselineRegression, DropClass::kPlatformBlocked,
                                       DropClass::kMetricsScrapeBlocked, DropClass::kDnsBlocked};
  // Each class on a port of its own, far enough apart not to merge into a range.
  auto port = [](DropClass c) { return static_cast<uint16_t>(8000 + 10 * static_cast<int>(c)); };
  for (DropClass c : classify::AllDropClasses()) h->OnDrop(Drop(s_, {.cls = c, .port = port(c)}));
  api::SuggestionsView v = h->View();
  EXPECT_TRUE(v.enabled);
  EXPECT_EQ(v.drops, kept.size());
  EXPECT_EQ(v.connections, kept.size());
  EXPECT_EQ(v.classes, (std::vector<std::string>{"baseline_regression", "platform_blocked",
                                                 "metrics_scrape_blocked", "dns_blocked"}));
  EXPECT_TRUE(v.pending);
  EXPECT_EQ(v.result, nullptr);
  // Which ones: the evidence names the kept classes' connections, and no other.
  TickAndWait(*h, kT0);
  v = h->View();
  ASSERT_NE(v.result, nullptr);
  EXPECT_EQ(v.result->connections, kept.size());
  std::string all;
  for (const auto& f : v.result->files) all += f.content;
  for (DropClass c : classify::AllDropClasses()) {
    const std::string evidence = absl::StrCat("business/postgres:", port(c), "/TCP: 1 flow");
    if (std::find(kept.begin(), kept.end(), c) != kept.end()) {
      EXPECT_THAT(all, HasSubstr(evidence)) << classify::DropClassName(c);
    } else {
      EXPECT_THAT(all, Not(HasSubstr(evidence))) << classify::DropClassName(c);
    }
  }
}

TEST_F(SuggestionHandlerTest, KeepsPolicyDropsAndAuditsButNotDatapathDropsOrUnkeyedFlows) {
  auto h = Make();
  h->OnDrop(Drop(s_, {.port = 1}));  // policy denied
  h->OnDrop(Drop(s_, {.port = 2, .verdict = flow::Verdict::kAudit, .drop_reason = 0}));
  h->OnDrop(Drop(s_, {.port = 3, .drop_reason = 132}));  // CT_INVALID_HDR: not policy
  h->OnDrop(Drop(s_, {.port = 4, .keyed = false}));      // no port to key by
  api::SuggestionsView v = h->View();
  EXPECT_EQ(v.drops, 4u);
  EXPECT_EQ(v.drops_skipped, 2u);
  EXPECT_EQ(v.connections, 2u);
}

TEST_F(SuggestionHandlerTest, TheBoundKeepsTheFirstConnectionsAndCountsTheRest) {
  auto h = Make({.max_connections = 2});
  h->OnDrop(Drop(s_, {.port = 1}));
  h->OnDrop(Drop(s_, {.port = 2}));
  h->OnDrop(Drop(s_, {.port = 3}));  // a third connection: left out
  h->OnDrop(Drop(s_, {.port = 3}));
  h->OnDrop(Drop(s_, {.port = 1}));  // a kept one: still counted in
  api::SuggestionsView v = h->View();
  EXPECT_EQ(v.drops, 5u);
  EXPECT_EQ(v.connections, 2u);
  EXPECT_EQ(v.drops_left_out, 2u);
  EXPECT_EQ(v.max_connections, 2u);
  EXPECT_EQ(Metric("tierwatch_suggestion_drops_left_out_total"), 2);
  TickAndWait(*h, kT0);
  v = h->View();
  ASSERT_NE(v.result, nullptr);
  EXPECT_EQ(v.result->connections, 2u);
  EXPECT_EQ(v.result->drops, 5u);
  EXPECT_FALSE(v.pending);
}

TEST_F(SuggestionHandlerTest, ComputesOnlyWhenSomethingChangedAndNoSoonerThanTheInterval) {
  auto h = Make({.interval = absl::Seconds(30)});
  TickAndWait(*h, kT0);
  EXPECT_EQ(h->computations(), 0u) << "nothing kept, nothing to compute";
  EXPECT_EQ(h->View().result, nullptr);

  h->OnDrop(Drop(s_, {}));
  TickAndWait(*h, kT0 + absl::Seconds(1));
  EXPECT_EQ(h->computations(), 1u);
  api::SuggestionsView v = h->View();
  ASSERT_NE(v.result, nullptr);
  EXPECT_FALSE(v.pending);
  EXPECT_EQ(v.result->computed_at, kT0 + absl::Seconds(1));

  // No change: no computation, however many ticks and however late.
  for (int i = 2; i < 10; ++i) TickAndWait(*h, kT0 + absl::Minutes(i));
  EXPECT_EQ(h->computations(), 1u);

  // A change within the interval waits for it; then one computation takes it in.
  const absl::Time last = kT0 + absl::Minutes(10);
  h->OnDrop(Drop(s_, {.port = 5433}));
  TickAndWait(*h, last);
  EXPECT_EQ(h->computations(), 2u);
  h->OnDrop(Drop(s_, {.port = 5434}));
  TickAndWait(*h, last + absl::Seconds(29));
  EXPECT_EQ(h->computations(), 2u);
  EXPECT_TRUE(h->View().pending);
  TickAndWait(*h, last + absl::Seconds(30));
  EXPECT_EQ(h->computations(), 3u);
  v = h->View();
  EXPECT_FALSE(v.pending);
  EXPECT_EQ(v.result->connections, 3u);
  EXPECT_EQ(v.result->drops, 3u);
}

TEST_F(SuggestionHandlerTest, TheServedSetIsProvenAndAssumesTheTargetWithoutPolicies) {
  auto h = Make();
  h->OnDrop(Drop(s_, {}));
  TickAndWait(*h, kT0);
  api::SuggestionsView v = h->View();
  ASSERT_NE(v.result, nullptr);
  const api::SuggestionResult& r = *v.result;
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.assumed_target);
  EXPECT_TRUE(r.proofs_run);
  EXPECT_TRUE(r.proven()) << suggest::RenderProof(r.proof);
  EXPECT_EQ(r.proof.closure_checked, 1u);
  EXPECT_EQ(r.proof.closure_allowed, 1u);
  EXPECT_EQ(r.app_policies, 2u);  // odoo's egress, postgres's ingress
  EXPECT_EQ(r.clusterwide_policies, 0u);
  std::vector<std::string> paths;
  for (const auto& f : r.files) paths.push_back(f.path);
  EXPECT_THAT(paths, ::testing::IsSupersetOf({"business/odoo/networkpolicy.yaml",
                                              "business/postgres/networkpolicy.yaml",
                                              "cluster-wide/target-default-deny.yaml"}));
  EXPECT_EQ(Metric("tierwatch_suggestions", {{"kind", "app"}}), 2);
  EXPECT_EQ(Metric("tierwatch_suggestions", {{"kind", "cluster_wide"}}), 0);
  EXPECT_EQ(Metric("tierwatch_suggestion_computations_total", {{"result", "ok"}}), 1);
  EXPECT_GE(Metric("tierwatch_suggestion_compute_seconds"), 0);
}

TEST_F(SuggestionHandlerTest, ASetTheLoadedPoliciesAllowAlreadyIsServedEmpty) {
  // An allow-all for business: the kept drop's connection is allowed by the daemon's
  // policies (the cluster runs others), so nothing is suggested, not even the target.
  policy::LoadedPolicies loaded = policy::ParsePolicyText(R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-all, namespace: business}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
  egress: [{toEndpoints: [{}]}]
)",
                                                          "allow.yaml");
  ASSERT_FALSE(loaded.HasErrors());
  SuggestionHandler h(std::make_unique<tier::TierModel>(), loaded.policies, s_, nullptr, scope_,
                      {.policies_from = "allow.yaml"});
  h.OnDrop(Drop(s_, {}));
  TickAndWait(h, kT0);
  api::SuggestionsView v = h.View();
  ASSERT_NE(v.result, nullptr);
  EXPECT_FALSE(v.result->assumed_target);
  EXPECT_EQ(v.result->policies_in_force, 1u);
  EXPECT_EQ(v.result->stats.already_allowed, 1u);
  EXPECT_TRUE(v.result->files.empty());
  EXPECT_FALSE(v.result->proofs_run);
}

TEST_F(SuggestionHandlerTest, SelectorsSingleOutAWorkloadAmongEveryWorkloadTheStreamShowed) {
  auto h = Make();
  // The stream shows reviews-v1 and reviews-v2 (both app=reviews); only v2's traffic drops.
  flow::Event ev;
  ev.flow.emplace();
  ev.flow->time = kT0;
  ev.flow->source = Versioned(s_, "bookinfo", "reviews", "v1", 101);
  ev.flow->destination = Versioned(s_, "bookinfo", "ratings", "v1", 103);
  h->OnEvent(ev);
  auto c = std::make_shared<Classification>();
  c->drop_class = DropClass::kBaselineRegression;
  c->flow.time = kT0;
  c->flow.verdict = flow::Verdict::kDropped;
  c->flow.drop_reason_desc = flow::kDropPolicyDenied;
  c->flow.source = Versioned(s_, "bookinfo", "reviews", "v2", 102);
  c->flow.destination = Versioned(s_, "bookinfo", "ratings", "v1", 103);
  c->connection =
      flow::ConnectionKey{flow::Peer::Workload(s_.Intern("bookinfo"), s_.Intern("reviews-v2")),
                          flow::Peer::Workload(s_.Intern("bookinfo"), s_.Intern("ratings-v1")),
                          flow::Protocol::kTCP, 9080};
  flow::Event dropped;
  dropped.flow = c->flow;
  h->OnEvent(dropped);
  h->OnDrop(c);
  TickAndWait(*h, kT0);
  api::SuggestionsView v = h->View();
  ASSERT_NE(v.result, nullptr);
  std::string reviews;
  for (const auto& f : v.result->files) {
    if (f.path == "bookinfo/reviews-v2/networkpolicy.yaml") reviews = f.content;
  }
  ASSERT_FALSE(reviews.empty());
  // Not app=reviews alone: that would select reviews-v1 too.
  EXPECT_THAT(reviews, HasSubstr("      app: reviews\n      version: v2\n")) << reviews;
  EXPECT_TRUE(v.result->proven()) << suggest::RenderProof(v.result->proof);
}

TEST_F(SuggestionHandlerTest, TheLearnedBaselineNamesWorkloadsNotSeenSince) {
  baseline::Baseline learned(s_);
  learned.ObserveLabels(flow::Peer::Workload(s_.Intern("bookinfo"), s_.Intern("reviews-v1")),
                        Versioned(s_, "bookinfo", "reviews", "v1", 101));
  auto h = Make({}, &learned);
  auto c = std::make_shared<Classification>();
  c->drop_class = DropClass::kBaselineRegression;
  c->flow.time = kT0;
  c->flow.verdict = flow::Verdict::kDropped;
  c->flow.drop_reason_desc = flow::kDropPolicyDenied;
  c->flow.source = Versioned(s_, "bookinfo", "reviews", "v2", 102);
  c->flow.destination = Versioned(s_, "bookinfo", "ratings", "v1", 103);
  c->connection =
      flow::ConnectionKey{flow::Peer::Workload(s_.Intern("bookinfo"), s_.Intern("reviews-v2")),
                          flow::Peer::Workload(s_.Intern("bookinfo"), s_.Intern("ratings-v1")),
                          flow::Protocol::kTCP, 9080};
  h->OnDrop(c);
  TickAndWait(*h, kT0);
  ASSERT_NE(h->View().result, nullptr);
  std::string reviews;
  for (const auto& f : h->View().result->files) {
    if (f.path == "bookinfo/reviews-v2/networkpolicy.yaml") reviews = f.content;
  }
  EXPECT_THAT(reviews, HasSubstr("      app: reviews\n      version: v2\n")) << reviews;
}

TEST_F(SuggestionHandlerTest, OffKeepsNothingAndSaysWhy) {
  auto h = Make({.max_connections = 0});
  h->OnDrop(Drop(s_, {}));
  TickAndWait(*h, kT0);
  api::SuggestionsView v = h->View();
  EXPECT_FALSE(v.enabled);
  EXPECT_THAT(v.reason, HasSubstr("suggestions.max_connections: 0"));
  EXPECT_EQ(v.drops, 1u);
  EXPECT_EQ(v.connections, 0u);
  EXPECT_EQ(h->computations(), 0u);
}

// --- in the daemon ---------------------------------------------------------------------

TEST(SuggestionDaemonTest, TheDaemonKeepsItsDropsAndServesTheProvenSet) {
  testing::TempDir dir;
  flow::SymbolTable s;
  auto drop = [&](testing::FlowSpec spec, int64_t at, const std::string& uuid) {
    spec.verdict = flow::Verdict::kDropped;
    spec.drop_reason = flow::kDropPolicyDenied;
    spec.event_type = flow::kEventDrop;
    spec.unix_seconds = at;
    spec.uuid = uuid;
    return testing::FlowEvent(s, spec);
  };
  std::vector<flow::Event> after = {
      drop({.dst_app = "redis", .port = 6379}, 1764400000, "u1"),  // expected_deny: not kept
      drop({.src_ns = "observability", .src_app = "vmagent", .dst_app = "odoo", .port = 9100},
           1764400002, "u2"),  // metrics_scrape_blocked: kept
  };
  DaemonOptions opts;
  opts.tick_interval = absl::ZeroDuration();
  opts.captures = {testing::WriteCapture(dir / "after.jsonl", after)};
  ManualTimeSource clock(kT0);
  config::LoadOptions lo;
  lo.require_relay_address = false;
  auto cfg = ParseDaemonConfig("mode: watch\n", "", lo);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  Daemon d(*cfg, opts, clock);
  DaemonApiState state(d);
  EXPECT_EQ(api::Handle({"GET", "/api/v1/suggestions", {}}, state).status, 200);
  ASSERT_TRUE(d.Start().ok());
  d.WaitForStop(kWait);
  // The quiet ticks release the held drops; the one after takes them in.
  for (int i = 0; i < 3; ++i) d.Tick();
  d.Sync();
  ASSERT_NE(d.suggestions(), nullptr);
  ASSERT_TRUE(d.suggestions()->WaitIdle(kWait));

  api::SuggestionsView v = state.Suggestions();
  EXPECT_EQ(v.drops, 1u);
  ASSERT_NE(v.result, nullptr);
  EXPECT_TRUE(v.result->proven());
  api::Response r = api::Handle({"GET", "/api/v1/suggestions", {}}, state);
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("application/yaml"));
  auto files = suggest::SplitBundle(r.body);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, v.result->files);
  EXPECT_THAT(r.body, HasSubstr("# proofs: ok\n"));
  auto families = d.metrics().Collect();
  EXPECT_EQ(metrics::SumOf(families, "tierwatch_suggestions", {{"kind", "app"}}),
            static_cast<double>(v.result->app_policies));
  d.Shutdown();
}

}  // namespace
}  // namespace tw::app
