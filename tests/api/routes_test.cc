// The API's routes as a pure function over a fake state: every endpoint, every filter,
// bounded lists, newest first, and a JSON 400/404/405 for everything wrong — no sockets.
#include "api/routes.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "classify/render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::api {
namespace {

using classify::Classification;
using classify::DropClass;
using nlohmann::json;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1764300600);

class FakeState : public StateView {
 public:
  Health Liveness() const override { return live; }
  Health Readiness() const override { return ready; }
  std::string MetricsText() const override { return "tierwatch_up 1\n"; }
  json Status() const override { return json{{"mode", "watch"}}; }
  std::vector<std::shared_ptr<const Classification>> RecentDrops() const override { return drops; }
  std::shared_ptr<const Classification> FindDrop(absl::string_view id) const override {
    for (const auto& d : drops) {
      if (d->id == id) return d;
    }
    return nullptr;
  }
  size_t RecentDropsCapacity() const override { return 1000; }
  std::optional<classify::AggregateSnapshot> Connections() const override { return snapshot; }
  absl::StatusOr<std::string> BaselineDocument(baseline::DocumentFormat f) const override {
    if (!has_baseline) return absl::NotFoundError("no baseline: baseline.path is not set");
    return f == baseline::DocumentFormat::kYaml ? std::string("kind: TierwatchBaseline\n")
                                                : std::string("{\"kind\":\"TierwatchBaseline\"}");
  }
  absl::Time Now() const override { return kNow; }

  // Adds a drop `age` before kNow.
  void Add(DropClass cls, const std::string& src_ns, const std::string& dst_ns,
           absl::Duration age) {
    auto c = std::make_shared<Classification>();
    c->id = absl::StrCat("id", drops.size());
    c->drop_class = cls;
    c->severity = classify::SeverityOf(cls);
    c->flow.time = kNow - age;
    c->flow.verdict = flow::Verdict::kDropped;
    c->flow.source.namespace_ = symbols.Intern(src_ns);
    c->flow.destination.namespace_ = symbols.Intern(dst_ns);
    c->explanation = absl::StrCat("drop ", drops.size());
    c->reasoning = {"1 infra_drop: no"};
    drops.push_back(std::move(c));
  }

  Health live{true, ""};
  Health ready{true, ""};
  bool has_baseline = true;
  flow::SymbolTable symbols;
  std::vector<std::shared_ptr<const Classification>> drops;
  std::optional<classify::AggregateSnapshot> snapshot;
};

Response Get(const StateView& s, const std::string& path,
             std::vector<std::pair<std::string, std::string>> params = {}) {
  return Handle(Request{"GET", path, std::move(params)}, s);
}

json Body(const Response& r) { return json::parse(r.body); }

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state.Add(DropClass::kDnsBlocked, "business", "kube-system", absl::Minutes(30));
    state.Add(DropClass::kExpectedDeny, "business", "business", absl::Minutes(20));
    state.Add(DropClass::kTier0Violation, "flux-system", "kube-system", absl::Minutes(10));
    state.Add(DropClass::kExpectedDeny, "shop", "shop", absl::Minutes(1));
  }
  FakeState state;
};

TEST_F(RoutesTest, DropsAreNewestFirstAndFilteredAndBounded) {
  Response r = Get(state, "/api/v1/drops");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json b = Body(r);
  ASSERT_EQ(b["drops"].size(), 4u);
  EXPECT_EQ(b["drops"][0]["id"], "id3");  // newest first
  EXPECT_EQ(b["drops"][3]["id"], "id0");
  EXPECT_EQ(b["limit"], kDefaultLimit);
  EXPECT_FALSE(b["drops"][0].contains("reasoning"));  // lists stay as `analyze -o json`

  b = Body(Get(state, "/api/v1/drops", {{"class", "expected_deny"}}));
  ASSERT_EQ(b["drops"].size(), 2u);
  EXPECT_EQ(b["drops"][0]["class"], "expected_deny");

  b = Body(Get(state, "/api/v1/drops", {{"class", "dns_blocked,tier0_violation"}}));
  EXPECT_EQ(b["drops"].size(), 2u);

  b = Body(Get(state, "/api/v1/drops", {{"severity", "critical"}}));
  EXPECT_EQ(b["drops"].size(), 2u);

  // Either side, as hubble observe --namespace.
  b = Body(Get(state, "/api/v1/drops", {{"namespace", "kube-system"}}));
  EXPECT_EQ(b["drops"].size(), 2u);
  b = Body(Get(state, "/api/v1/drops", {{"namespace", "nowhere"}}));
  EXPECT_EQ(b["drops"].size(), 0u);

  b = Body(Get(state, "/api/v1/drops", {{"since", "15m"}}));
  EXPECT_EQ(b["drops"].size(), 2u);
  b = Body(Get(state, "/api/v1/drops", {{"since", "2025-11-28T03:15:00Z"}}));  // now - 15m
  EXPECT_EQ(b["drops"].size(), 2u);
  b = Body(Get(state, "/api/v1/drops", {{"since", "2025-11-28T02:00:00Z"}}));
  EXPECT_EQ(b["drops"].size(), 4u);

  b = Body(Get(state, "/api/v1/drops", {{"limit", "1"}}));
  ASSERT_EQ(b["drops"].size(), 1u);
  EXPECT_EQ(b["matched"], 4);
  EXPECT_EQ(b["truncated"], true);
  EXPECT_EQ(Get(state, "/api/v1/drops", {{"limit", "10000"}}).status, 200);
}

TEST_F(RoutesTest, BadParametersAreFourHundredWithAJsonError) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> params;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{{"limit", "lots"}}, "limit: expected a whole number from 1 to 10000, got \"lots\""},
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "10001"}}, "limit"},
      {{{"limit", "-5"}}, "limit"},
      {{{"class", "dns"}}, "class: unknown class \"dns\"; known: infra_drop,"},
      {{{"class", ""}}, "class: expected a class name"},
      {{{"severity", "urgent"}}, "severity: unknown severity \"urgent\""},
      {{{"since", "yesterday"}}, "since: expected an RFC 3339 time"},
      {{{"clas", "dns_blocked"}}, "unknown parameter \"clas\" for /api/v1/drops; known: class"},
      {{{"limit", "5"}, {"limit", "6"}}, "parameter \"limit\" given more than once"},
  };
  for (const Case& c : cases) {
    Response r = Get(state, "/api/v1/drops", c.params);
    EXPECT_EQ(r.status, 400) << c.mentions;
    EXPECT_EQ(r.content_type, "application/json");
    json b = Body(r);
    EXPECT_EQ(b["status"], 400);
    EXPECT_THAT(b["error"].get<std::string>(), HasSubstr(c.mentions));
  }
  EXPECT_EQ(Get(state, "/api/v1/connections", {{"class", "bogus"}}).status, 400);
  EXPECT_EQ(Get(state, "/api/v1/baseline", {{"format", "xml"}}).status, 400);
  EXPECT_EQ(Get(state, "/api/v1/status", {{"verbose", "1"}}).status, 400);
}

TEST_F(RoutesTest, OneDropCarriesTheExplanationAnalyzePrints) {
  Response r = Get(state, "/api/v1/drops/id2");
  ASSERT_EQ(r.status, 200);
  json b = Body(r);
  EXPECT_EQ(b["class"], "tier0_violation");
  EXPECT_EQ(b["reasoning"][0], "1 infra_drop: no");
  EXPECT_EQ(b["explain_text"], classify::RenderExplain(*state.drops[2]));

  r = Get(state, "/api/v1/drops/feedfeedfeed");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(Body(r)["error"].get<std::string>(),
              HasSubstr("no drop with id feedfeedfeed among the daemon's last 1000 drops"));
  EXPECT_EQ(Get(state, "/api/v1/drops/id2/more").status, 404);
}

TEST_F(RoutesTest, ConnectionsPerClassBounded) {
  json b = Body(Get(state, "/api/v1/connections"));
  EXPECT_EQ(b["connections"].size(), 0u);
  EXPECT_THAT(b["note"].get<std::string>(), HasSubstr("has not watched yet"));

  classify::DropAggregator agg;
  for (const auto& d : state.drops) agg.Add(*d);
  state.snapshot = agg.Snapshot();
  b = Body(Get(state, "/api/v1/connections"));
  EXPECT_EQ(b["matched"], b["connections"].size());
  EXPECT_EQ(b["classes"]["expected_deny"]["events"], 2);
  b = Body(Get(state, "/api/v1/connections", {{"class", "dns_blocked"}, {"limit", "1"}}));
  ASSERT_EQ(b["connections"].size(), 1u);
  EXPECT_EQ(b["connections"][0]["class"], "dns_blocked");
  EXPECT_EQ(b["connections"][0]["examples"][0]["id"], "id0");
  EXPECT_EQ(b["connections"][0]["severity"], "critical");
}

TEST_F(RoutesTest, BaselineInEitherFormatOr404) {
  Response r = Get(state, "/api/v1/baseline");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  r = Get(state, "/api/v1/baseline", {{"format", "yaml"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("application/yaml"));
  EXPECT_EQ(r.body, "kind: TierwatchBaseline\n");
  state.has_baseline = false;
  r = Get(state, "/api/v1/baseline");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("baseline.path is not set"));
}

TEST_F(RoutesTest, ProbesMetricsStatusAndUnknownPaths) {
  Response r = Get(state, "/metrics", {{"name[]", "x"}});  // scrapers' own params are ignored
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "tierwatch_up 1\n");
  EXPECT_EQ(Get(state, "/healthz").status, 200);
  EXPECT_EQ(Get(state, "/readyz").status, 200);
  EXPECT_EQ(Handle(Request{"HEAD", "/healthz", {}}, state).status, 200);
  state.ready = {false, "waiting for the first response from the relay r:80"};
  r = Get(state, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: waiting for the first response from the relay r:80\n");
  state.live = {false, "stuck"};
  EXPECT_EQ(Get(state, "/healthz").status, 503);

  EXPECT_EQ(Body(Get(state, "/api/v1/status"))["mode"], "watch");
  EXPECT_EQ(Body(Get(state, "/api/v1/status/"))["mode"], "watch");  // trailing slash
  EXPECT_EQ(Get(state, "/").status, 200);

  r = Get(state, "/api/v2/drops");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("no such endpoint: /api/v2/drops"));
  r = Handle(Request{"POST", "/api/v1/drops", {}}, state);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Body(r)["status"], 405);
}

}  // namespace
}  // namespace tw::api
