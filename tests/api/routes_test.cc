// The API's routes as a pure function over a fake state: every endpoint, every filter,
// bounded lists, newest first, and a JSON 400/404/405 for everything wrong — no sockets.
#include "api/routes.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "classify/render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "suggest/render.h"

namespace tw::api {
namespace {

using classify::Classification;
using classify::DropClass;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

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
  SuggestionsView Suggestions() const override { return suggestions; }
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
  SuggestionsView suggestions = EnabledSuggestions();

  static SuggestionsView EnabledSuggestions() {
    SuggestionsView v;
    v.enabled = true;
    v.reason = "";
    v.classes = {"baseline_regression", "platform_blocked", "metrics_scrape_blocked",
                 "dns_blocked"};
    v.max_connections = 10000;
    return v;
  }
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

// --- /api/v1/suggestions ---------------------------------------------------------------

std::shared_ptr<SuggestionResult> TwoFiles() {
  auto r = std::make_shared<SuggestionResult>();
  r->computed_at = kNow - absl::Minutes(1);
  r->took = absl::Milliseconds(12);
  r->drops = 7;
  r->connections = 2;
  r->policies_in_force = 8;
  r->policies_from = "story-policies";
  r->stats.considered = 2;
  r->stats.needing_allow = 2;
  r->rules = 2;
  r->app_policies = 2;
  r->proofs_run = true;
  r->proof.closure_checked = 2;
  r->proof.closure_allowed = 2;
  r->files = {
      {"business/kustomization.yaml", "# tierwatch suggest: k\nkind: Kustomization\n"},
      {"business/odoo/networkpolicy.yaml",
       "# tierwatch suggest from x\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"}};
  return r;
}

TEST_F(RoutesTest, SuggestionsWhenEmptyAreATwoHundredBundleSayingWhy) {
  Response r = Get(state, "/api/v1/suggestions");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/yaml; charset=utf-8");
  EXPECT_TRUE(absl::StartsWith(r.body,
                               "# tierwatch live suggestions: allow rules for the "
                               "connections of the drops classified baseline_regression, "
                               "platform_blocked, metrics_scrape_blocked, dns_blocked\n"))
      << r.body;
  EXPECT_THAT(r.body, HasSubstr("# nothing to suggest: no drop classified baseline_regression, "
                                "platform_blocked, metrics_scrape_blocked, dns_blocked since the "
                                "daemon started\n"));
  auto files = suggest::SplitBundle(r.body);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->empty());
  json b = Body(Get(state, "/api/v1/suggestions", {{"format", "json"}}));
  EXPECT_EQ(b["count"], 0);
  EXPECT_EQ(b["files"], json::array());
  EXPECT_THAT(b["nothing_to_suggest"].get<std::string>(), HasSubstr("since the daemon started"));

  // Drops kept, not computed yet.
  state.suggestions.drops = 3;
  state.suggestions.connections = 1;
  state.suggestions.pending = true;
  r = Get(state, "/api/v1/suggestions");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body,
              HasSubstr("# nothing to suggest: 3 drops kept; the first computation is due"));
  EXPECT_THAT(r.body, HasSubstr("# kept: 1 connections of 3 drops (max_connections 10000); newer "
                                "drops are waiting for the next computation\n"));

  // Computed, and the daemon's policies allow it all already.
  auto computed = std::make_shared<SuggestionResult>();
  computed->drops = 3;
  computed->connections = 1;
  computed->policies_in_force = 1;
  computed->stats.considered = 1;
  computed->stats.already_allowed = 1;
  state.suggestions.pending = false;
  state.suggestions.result = computed;
  r = Get(state, "/api/v1/suggestions");
  EXPECT_THAT(r.body, HasSubstr("# nothing to suggest: the 1 connections of the kept drops are all "
                                "allowed by the policies in force already"));
  EXPECT_THAT(r.body, HasSubstr("# proofs: none run (nothing suggested)\n"));

  // Off.
  state.suggestions = SuggestionsView{};
  state.suggestions.reason = "live suggestions are off (suggestions.max_connections: 0)";
  r = Get(state, "/api/v1/suggestions");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("# nothing to suggest: live suggestions are off "
                                "(suggestions.max_connections: 0)\n"));
  EXPECT_EQ(Body(Get(state, "/api/v1/suggestions", {{"format", "json"}}))["enabled"], false);
}

TEST_F(RoutesTest, SuggestionsServeTheBundleWithAHeaderAndJsonListsTheFiles) {
  state.suggestions.drops = 7;
  state.suggestions.connections = 2;
  auto result = TwoFiles();
  state.suggestions.result = result;
  Response r = Get(state, "/api/v1/suggestions");
  ASSERT_EQ(r.status, 200);
  auto files = suggest::SplitBundle(r.body);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, result->files);
  // The header: comments only, before the first document.
  const std::string header = r.body.substr(0, r.body.find("---\n"));
  for (absl::string_view line : absl::StrSplit(header, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "# ")) << line;
  }
  EXPECT_THAT(header, Not(HasSubstr("nothing to suggest")));
  EXPECT_THAT(header, HasSubstr("# kept: 2 connections of 7 drops (max_connections 10000); up to "
                                "date\n"));
  EXPECT_THAT(header, HasSubstr("# computed: 2025-11-28T03:29:00Z from 2 connections of 7 drops, "
                                "in 12ms\n"));
  EXPECT_THAT(header,
              HasSubstr("# policies in force: 8 loaded by the daemon from story-policies\n"));
  EXPECT_THAT(header, HasSubstr("# 2 connections: 0 allowed already, 2 need an allow -> 2 rules "
                                "in 2 policies (2 app, 0 cluster-wide)\n"));
  EXPECT_THAT(header, HasSubstr("# proofs: ok\n"));
  EXPECT_THAT(header, HasSubstr("#   closure: the policies in force plus the suggestions allow 2 "
                                "of 2 connections: ok\n"));

  json b = Body(Get(state, "/api/v1/suggestions", {{"format", "json"}}));
  EXPECT_EQ(b["count"], 2);
  ASSERT_EQ(b["files"].size(), 2u);
  EXPECT_EQ(b["files"][1]["path"], "business/odoo/networkpolicy.yaml");
  EXPECT_EQ(b["files"][1]["content"], result->files[1].content);
  EXPECT_EQ(b["computed"]["proofs"]["ok"], true);
  EXPECT_EQ(b["computed"]["proofs"]["closure"]["checked"], 2);
  EXPECT_EQ(b["computed"]["policies"]["app"], 2);
  EXPECT_EQ(b["computed"]["at"], "2025-11-28T03:29:00Z");
  EXPECT_FALSE(b.contains("nothing_to_suggest"));

  // A failed proof and a connection no allow can close are said loudly.
  result->proof.still_denied_count = 1;
  result->proof.closure_allowed = 1;
  result->proof.still_denied = {
      {flow::ConnectionKey{
           flow::Peer::Workload(state.symbols.Intern("business"), state.symbols.Intern("odoo")),
           flow::Peer::Workload(state.symbols.Intern("business"), state.symbols.Intern("postgres")),
           flow::Protocol::kTCP, 5432},
       "egress denied"}};
  result->unresolved_count = 1;
  result->unresolved = {{result->proof.still_denied[0].key, "egress is denied by deny-db"}};
  r = Get(state, "/api/v1/suggestions");
  EXPECT_THAT(r.body, HasSubstr("# proofs: FAILED: do not apply these suggestions as they are\n"));
  EXPECT_THAT(r.body, HasSubstr("# unresolved: 1 connections no allow rule can close\n"
                                "#   business/odoo -> business/postgres:5432/TCP: egress is denied "
                                "by deny-db\n"));
  b = Body(Get(state, "/api/v1/suggestions", {{"format", "json"}}));
  EXPECT_EQ(b["computed"]["proofs"]["ok"], false);
  EXPECT_EQ(b["computed"]["proofs"]["closure"]["still_denied"], 1);
  EXPECT_EQ(b["computed"]["unresolved"][0]["reason"], "egress is denied by deny-db");

  // Lint errors of the proof are objects, as `policy lint -o json` gives them.
  tw::Diagnostic lint_error = tw::Diagnostic::Error("cnp-odoo.yaml", 7, "toPorts is empty");
  lint_error.code = "TW004";
  result->proof.lint_errors = {lint_error};
  b = Body(Get(state, "/api/v1/suggestions", {{"format", "json"}}));
  const json& errors = b["computed"]["proofs"]["lint"]["errors"];
  ASSERT_EQ(errors.size(), 1u) << errors.dump();
  EXPECT_EQ(errors[0]["file"], "cnp-odoo.yaml");
  EXPECT_EQ(errors[0]["line"], 7);
  EXPECT_EQ(errors[0]["code"], "TW004");
  EXPECT_EQ(errors[0]["message"], "toPorts is empty");
}

TEST_F(RoutesTest, SuggestionsRejectBadParameters) {
  Response r = Get(state, "/api/v1/suggestions", {{"format", "xml"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("format: expected yaml or json"));
  r = Get(state, "/api/v1/suggestions", {{"limit", "3"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("unknown parameter \"limit\""));
  EXPECT_THAT(Get(state, "/").body, HasSubstr("/api/v1/suggestions"));
}

}  // namespace
}  // namespace tw::api
