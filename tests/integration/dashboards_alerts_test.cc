// dashboards/ and deploy/tierwatch/alerts/, checked for real:
// - the alert rules pass `promtool check rules` and their unit tests
//   (tests/integration/tierwatch_alerts_test.yaml: every alert fires and stays quiet), and
//   the PrometheusRule and VMRule carry exactly the plain rule file's groups;
// - every dashboard is importable as shipped (schemaVersion, a `datasource` variable, no
//   data source uid of anyone's Grafana, no `or vector(0)`-style padding);
// - the example lights every panel: `tierwatch replay` serves the example, `tierwatch run`
//   learns the before phase and watches the after and audit phases (as scripts/demo.sh
//   does, in one daemon switched by SIGHUP reloads), a real Prometheus scrapes it every
//   second and loads the alert rules, and every query of every panel of every dashboard —
//   template variables resolved through Prometheus to the example's real values — must
//   return data, and (but for a panel whose zero is the truth here) not only zeros.
// Prometheus and promtool come from Debian's `prometheus` package (scripts/install-deps.sh);
// without them these tests skip, saying so.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"
#include "yaml-cpp/yaml.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using tw::testing::Process;
using tw::testing::ReadFile;

std::string Src(const std::string& rel) { return tw::testing::SourceDir() + "/" + rel; }
std::string Example(const std::string& f) { return Src("examples/zero-trust-rollout/" + f); }

bool HaveCommand(const std::string& name) {
  return system(absl::StrCat("command -v ", name, " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command with its output in `log`; the exit status.
int Shell(const std::string& cmd, const fs::path& log) {
  int st = system(absl::StrCat(cmd, " > ", log.string(), " 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           absl::StrCat("tw_dash_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const char* const kAlerts[] = {"TierwatchTier0Violation",     "TierwatchDNSBlocked",
                               "TierwatchBaselineRegression", "TierwatchRelayDown",
                               "TierwatchLostEvents",         "TierwatchStaleBypass"};

// ---------------------------------------------------------------------------------------
// Alert rules

TEST(AlertRulesTest, PromtoolChecksTheRulesAndTheirUnitTestsPass) {
  if (!HaveCommand("promtool")) {
    GTEST_SKIP() << "promtool absent (Debian package prometheus, scripts/install-deps.sh)";
  }
  TempDir tmp;
  const fs::path log = tmp.path / "promtool.log";
  EXPECT_EQ(
      Shell("promtool check rules " + Src("deploy/tierwatch/alerts/tierwatch.rules.yaml"), log), 0)
      << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("SUCCESS: 6 rules found"));
  EXPECT_EQ(
      Shell("promtool test rules " + Src("tests/integration/tierwatch_alerts_test.yaml"), log), 0)
      << ReadFile(log);
}

// yaml-cpp keeps no scalar style, so two emitted nodes are equal text exactly when they
// hold the same content.
std::string Canonical(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return e.c_str();
}

TEST(AlertRulesTest, PrometheusRuleAndVmRuleCarryExactlyThePlainRuleGroups) {
  TempDir tmp;
  const fs::path log = tmp.path / "generate.log";
  EXPECT_EQ(Shell("bash " + Src("deploy/tierwatch/alerts/generate.sh") + " --check", log), 0)
      << ReadFile(log);

  YAML::Node plain = YAML::LoadFile(Src("deploy/tierwatch/alerts/tierwatch.rules.yaml"));
  const std::string groups = Canonical(plain["groups"]);
  for (const auto& [file, kind, api] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"prometheusrule.yaml", "PrometheusRule", "monitoring.coreos.com/v1"},
           {"vmrule.yaml", "VMRule", "operator.victoriametrics.com/v1beta1"}}) {
    YAML::Node cr = YAML::LoadFile(Src("deploy/tierwatch/alerts/" + file));
    EXPECT_EQ(cr["kind"].as<std::string>(), kind);
    EXPECT_EQ(cr["apiVersion"].as<std::string>(), api);
    EXPECT_EQ(cr["metadata"]["name"].as<std::string>(), "tierwatch");
    EXPECT_EQ(Canonical(cr["spec"]["groups"]), groups) << file;
  }

  // The six alerts, each with a severity, a summary, a description and a runbook that exists.
  std::set<std::string> names;
  for (const auto& g : plain["groups"]) {
    for (const auto& r : g["rules"]) {
      const std::string name = r["alert"].as<std::string>();
      names.insert(name);
      const std::string severity = r["labels"]["severity"].as<std::string>("");
      EXPECT_TRUE(severity == "critical" || severity == "warning") << name << ": " << severity;
      EXPECT_FALSE(r["annotations"]["summary"].as<std::string>("").empty()) << name;
      EXPECT_FALSE(r["annotations"]["description"].as<std::string>("").empty()) << name;
      const std::string runbook = r["annotations"]["runbook_url"].as<std::string>("");
      EXPECT_TRUE(absl::EndsWith(runbook, "/docs/runbooks/" + name + ".md")) << runbook;
      EXPECT_TRUE(fs::exists(Src("docs/runbooks/" + name + ".md"))) << name;
    }
  }
  EXPECT_EQ(names, std::set<std::string>(std::begin(kAlerts), std::end(kAlerts)));
}

// ---------------------------------------------------------------------------------------
// Dashboards

const char* const kDashboards[] = {"zero-trust-overview.json", "drop-investigation.json",
                                   "pipeline-health.json"};

json LoadDashboard(const std::string& file) {
  return json::parse(ReadFile(Src("dashboards/" + file)), nullptr, false);
}

// Every panel, rows' nested panels included.
std::vector<json> Panels(const json& dashboard) {
  std::vector<json> out;
  for (const json& p : dashboard["panels"]) {
    out.push_back(p);
    if (p.contains("panels")) {
      for (const json& q : p["panels"]) out.push_back(q);
    }
  }
  return out;
}

bool HasQueries(const json& panel) {
  return panel.contains("targets") && !panel["targets"].empty();
}

// Walks every object of `j` that sits under a "datasource" key.
void ForEachDatasourceRef(const json& j, const std::function<void(const json&)>& f) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "datasource") f(it.value());
      ForEachDatasourceRef(it.value(), f);
    }
  } else if (j.is_array()) {
    for (const json& e : j) ForEachDatasourceRef(e, f);
  }
}

TEST(DashboardsTest, EachIsImportableAsShipped) {
  const std::map<std::string, std::string> titles = {
      {"zero-trust-overview.json", "tierwatch / Zero-trust overview"},
      {"drop-investigation.json", "tierwatch / Drop investigation"},
      {"pipeline-health.json", "tierwatch / Pipeline health"}};
  std::set<std::string> uids;
  for (const char* file : kDashboards) {
    SCOPED_TRACE(file);
    json d = LoadDashboard(file);
    ASSERT_TRUE(d.is_object()) << "not JSON";
    EXPECT_EQ(d["title"], titles.at(file));
    EXPECT_EQ(d["schemaVersion"], 42);
    EXPECT_TRUE(d["id"].is_null()) << "an id belongs to one Grafana's database";
    EXPECT_TRUE(uids.insert(d["uid"].get<std::string>()).second);

    std::set<std::string> vars = {"__range", "__rate_interval", "__interval"};
    bool datasource_var = false;
    for (const json& v : d["templating"]["list"]) {
      vars.insert(v["name"].get<std::string>());
      if (v["name"] == "datasource") {
        datasource_var = v["type"] == "datasource" && v["query"] == "prometheus";
      }
    }
    EXPECT_TRUE(datasource_var) << "a `datasource` variable of type datasource (prometheus)";

    // Data source references name the variable, never a uid of some Grafana.
    int refs = 0;
    ForEachDatasourceRef(d, [&](const json& ref) {
      ++refs;
      EXPECT_TRUE(ref.is_object()) << ref.dump();
      if (!ref.is_object()) return;
      EXPECT_EQ(ref.value("uid", ""), "${datasource}") << ref.dump();
      EXPECT_EQ(ref.value("type", ""), "prometheus") << ref.dump();
    });
    EXPECT_GT(refs, 0);

    std::set<int> ids;
    std::vector<json> placed;
    for (const json& p : Panels(d)) {
      EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
      const json& g = p["gridPos"];
      EXPECT_LE(g["x"].get<int>() + g["w"].get<int>(), 24) << p["title"];
      for (const json& q : placed) {  // no two panels on the same cells
        const json& h = q["gridPos"];
        bool overlap = g["x"] < h["x"].get<int>() + h["w"].get<int>() &&
                       h["x"] < g["x"].get<int>() + g["w"].get<int>() &&
                       g["y"] < h["y"].get<int>() + h["h"].get<int>() &&
                       h["y"] < g["y"].get<int>() + g["h"].get<int>();
        EXPECT_FALSE(overlap) << p["title"] << " overlaps " << q["title"];
      }
      placed.push_back(p);
      if (p["type"] == "row" || p["type"] == "text") continue;
      EXPECT_TRUE(HasQueries(p)) << p["title"];
      EXPECT_FALSE(p.value("description", "").empty()) << p["title"] << ": say what it shows";
      for (const json& t : p.value("targets", json::array())) {
        const std::string expr = t.value("expr", "");
        EXPECT_FALSE(expr.empty()) << p["title"];
        // A panel lights from data or says "No data"; padding would hide a broken query.
        EXPECT_FALSE(absl::StrContains(expr, "vector(")) << p["title"] << ": " << expr;
        static const std::regex kVar(R"(\$\{?(\w+))");
        for (std::sregex_iterator it(expr.begin(), expr.end(), kVar), end; it != end; ++it) {
          EXPECT_TRUE(vars.count((*it)[1])) << p["title"] << ": unknown variable $" << (*it)[1];
        }
      }
    }
  }
}

TEST(DashboardsTest, KustomizeRendersThemAsOneSidecarConfigMap) {
  if (!HaveCommand("kubectl")) GTEST_SKIP() << "kubectl absent: `kubectl kustomize` not run";
  TempDir tmp;
  const fs::path out = tmp.path / "rendered.yaml";
  ASSERT_EQ(
      Shell("kubectl kustomize " + Src("dashboards") + " -o " + out.string(), tmp.path / "log"), 0)
      << ReadFile(tmp.path / "log");
  YAML::Node cm = YAML::LoadFile(out.string());
  EXPECT_EQ(cm["kind"].as<std::string>(), "ConfigMap");
  EXPECT_EQ(cm["metadata"]["name"].as<std::string>(), "tierwatch-dashboards");
  EXPECT_EQ(cm["metadata"]["labels"]["grafana_dashboard"].as<std::string>(), "1");
  for (const char* file : kDashboards) {
    ASSERT_TRUE(cm["data"][file].IsDefined()) << file;
    EXPECT_EQ(json::parse(cm["data"][file].as<std::string>(), nullptr, false), LoadDashboard(file))
        << file;
  }
}

// ---------------------------------------------------------------------------------------
// The example through tierwatch and a real Prometheus

// Grafana's formatting of a multi-value variable in a Prometheus regex matcher: each value
// regex-escaped (the backslash doubled inside the PromQL string), joined as (a|b).
std::string RegexEscape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (absl::StrContains("\\^$.|?*+()[]{}", c)) out += "\\\\";
    out += c;
  }
  return out;
}
std::string MultiValue(const std::vector<std::string>& values) {
  std::vector<std::string> esc;
  for (const auto& v : values) esc.push_back(RegexEscape(v));
  return esc.size() == 1 ? esc[0] : absl::StrCat("(", absl::StrJoin(esc, "|"), ")");
}

std::string Substitute(std::string expr, const std::map<std::string, std::string>& values) {
  // Longest names first, so $__rate_interval is not read as $__rate.
  std::vector<std::pair<std::string, std::string>> subs;
  for (const auto& [k, v] : values) {
    subs.push_back({"${" + k + "}", v});
    subs.push_back({"$" + k, v});
  }
  std::sort(subs.begin(), subs.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return absl::StrReplaceAll(expr, subs);
}

// A Unix time for Prometheus' API (absl::StrCat would keep 6 significant digits).
std::string Ts(double unix_seconds) { return absl::StrFormat("%.3f", unix_seconds); }

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

size_t CountFlowLines(const std::string& file) {
  size_t n = 0;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (absl::StartsWith(line, "{\"flow\"")) ++n;
  }
  return n;
}

class ExampleLightsEveryPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveCommand("prometheus") || !HaveCommand("promtool")) {
      GTEST_SKIP() << "prometheus/promtool absent (Debian package prometheus, "
                      "scripts/install-deps.sh): the dashboards are not run against the example";
    }
    tmp_ = std::make_unique<TempDir>();
  }
  void TearDown() override {
    // Children first (SIGTERM, bounded wait; the destructors SIGKILL what is left).
    for (Process* p : {prometheus_.get(), daemon_.get(), relay_a_.get(), relay_b_.get()}) {
      if (p != nullptr) p->Signal(SIGTERM);
    }
    for (Process* p : {prometheus_.get(), daemon_.get(), relay_a_.get(), relay_b_.get()}) {
      if (p != nullptr) p->Wait(absl::Seconds(10));
    }
    prometheus_.reset();
    daemon_.reset();
    relay_a_.reset();
    relay_b_.reset();
    tmp_.reset();
  }

  fs::path Dir() const { return tmp_->path; }

  std::unique_ptr<Process> StartRelay(const std::string& name, std::vector<std::string> args,
                                      std::string* address) {
    args.insert(args.begin(), {tw::testing::TierwatchBin(), "replay", "--listen", "127.0.0.1:0"});
    auto p = std::make_unique<Process>(args, Dir() / (name + ".out"), Dir() / (name + ".err"));
    EXPECT_TRUE(p->AwaitOut("listening on ")) << p->err();
    std::string out = p->out();
    size_t pos = out.find("listening on ");
    if (pos != std::string::npos) {
      *address = out.substr(pos + 13, out.find('\n', pos) - pos - 13);
    }
    return p;
  }

  void WriteConfig(const std::string& mode, const std::string& relay) {
    std::ofstream(Dir() / "tierwatch.yaml")
        << "relay: {address: \"" << relay << "\", backlog: all}\n"
        << "mode: " << mode << "\n"
        << "baseline: {path: " << (Dir() / "baseline.twb").string() << ", save_interval: 1s}\n"
        << "http: {listen: \"127.0.0.1:0\"}\n"
        << "log: {level: info}\n";
  }

  // SIGHUP and wait until the daemon logged one more applied reload.
  void Reload() {
    const int before = Process::Count(daemon_->err(), "config reloaded file=");
    daemon_->Signal(SIGHUP);
    ASSERT_TRUE(daemon_->AwaitErr("config reloaded file=", before + 1)) << daemon_->err();
  }

  json Status() {
    auto r = api::HttpGet("http://" + http_, "/api/v1/status");
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  // Prometheus' HTTP API: the "data" of a successful answer; an error fails the test with
  // the query and Prometheus' message, and returns null.
  json Prom(const std::string& path, const std::map<std::string, std::string>& params,
            const std::string& what = "") {
    std::vector<std::string> q;
    for (const auto& [k, v] : params) q.push_back(absl::StrCat(k, "=", api::UrlEncode(v)));
    auto r = api::HttpGet(prom_, absl::StrCat(path, "?", absl::StrJoin(q, "&")));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return json();
    json j = json::parse(r->body, nullptr, false);
    EXPECT_EQ(j.value("status", ""), "success")
        << what << "\n"
        << path << " " << absl::StrJoin(q, "&") << "\n-> " << r->status << " " << r->body;
    if (!j.is_object() || j.value("status", "") != "success") return json();
    return j["data"];
  }
  // An instant query's single value ("" when the result is empty).
  std::string Scalar(const std::string& query) {
    json d = Prom("/api/v1/query", {{"query", query}});
    if (!d.is_object() || d["result"].empty()) return "";
    return d["result"][0]["value"][1].get<std::string>();
  }
  double Number(const std::string& query) {
    double v = NAN;
    std::string s = Scalar(query);
    if (!s.empty() && !absl::SimpleAtod(s, &v)) v = NAN;
    return v;
  }

  void StartPrometheus(const std::string& target) {
    const std::string config = (Dir() / "prometheus.yml").string();
    std::ofstream(config) << "global: {scrape_interval: 1s, scrape_timeout: 900ms, "
                             "evaluation_interval: 1s}\n"
                          << "rule_files: ['" << Src("deploy/tierwatch/alerts/tierwatch.rules.yaml")
                          << "']\n"
                          << "scrape_configs:\n"
                          << "  - job_name: tierwatch\n"
                          << "    static_configs: [{targets: ['" << target << "']}]\n";
    // A free port can be taken between the probe and Prometheus' bind: then try another.
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int port = FreePort();
      ASSERT_GT(port, 0);
      prom_ = absl::StrCat("http://127.0.0.1:", port);
      prometheus_ = std::make_unique<Process>(
          std::vector<std::string>{"/usr/bin/env", "prometheus", "--config.file=" + config,
                                   "--storage.tsdb.path=" + (Dir() / "tsdb").string(),
                                   absl::StrCat("--web.listen-address=127.0.0.1:", port),
                                   "--log.level=warn"},
          Dir() / "prometheus.out", Dir() / "prometheus.err");
      const auto port_taken = [&] {
        return absl::StrContains(prometheus_->err(), "address already in use");
      };
      const bool ready = Process::Await([&] {
        if (port_taken()) return true;
        api::HttpGetOptions quick;
        quick.connect_timeout = absl::Seconds(1);
        quick.read_timeout = absl::Seconds(2);
        auto r = api::HttpGet(prom_, "/-/ready", quick);
        return r.ok() && r->status == 200;
      });
      if (ready && !port_taken()) return;
      prometheus_->Signal(SIGKILL);
      prometheus_->Wait(absl::Seconds(10));
      if (!port_taken()) FAIL() << "prometheus did not get ready:\n" << prometheus_->err();
    }
    FAIL() << "prometheus found no free port";
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<Process> relay_a_, relay_b_, daemon_, prometheus_;
  std::string http_, prom_;
};

struct PanelQuery {
  std::string dashboard, panel, ref, expr;
  bool instant = false;
};

TEST_F(ExampleLightsEveryPanelTest, EveryQueryOfEveryDashboardReturnsTheExamplesData) {
  const absl::Time test_start = absl::Now();
  const json truth = json::parse(ReadFile(Example("expected-classes.json")));
  const size_t before_flows = CountFlowLines(Example("before.jsonl"));
  const size_t all_flows = before_flows + CountFlowLines(Example("after.jsonl")) +
                           CountFlowLines(Example("audit.jsonl"));
  const int all_drops =
      truth["after"]["counted_events"].get<int>() + truth["audit"]["counted_events"].get<int>();

  // 1. Learn: the before phase, all at once; the daemon saves its baseline every second.
  std::string relay_a;
  relay_a_ = StartRelay("relay-a", {"--capture", Example("before.jsonl")}, &relay_a);
  ASSERT_FALSE(relay_a.empty());
  WriteConfig("learn", relay_a);
  daemon_ = std::make_unique<Process>(
      std::vector<std::string>{tw::testing::TierwatchBin(), "run", "--config",
                               (Dir() / "tierwatch.yaml").string()},
      Dir() / "run.out", Dir() / "run.err");
  ASSERT_TRUE(daemon_->AwaitErr("http listening addr=")) << daemon_->err();
  {
    std::string err = daemon_->err();
    size_t pos = err.find("http listening addr=") + 20;
    http_ = err.substr(pos, err.find(' ', pos) - pos);
  }
  ASSERT_NO_FATAL_FAILURE(StartPrometheus(http_));

  // Prometheus scrapes the learning daemon: every flow learned, saves seen in two scrapes.
  ASSERT_TRUE(Process::Await([&] {
    json s = Status();
    return s.is_object() && s["source_stats"]["flows"] == before_flows;
  })) << Status().dump();
  ASSERT_TRUE(Process::Await([&] {
    return Number("changes(tierwatch_baseline_saves_total{result=\"ok\"}[1m])") >= 1;
  })) << "Prometheus does not see the learning daemon's saves";
  const double t0 = [&] {  // the first scrape of tierwatch
    json d = Prom("/api/v1/query", {{"query", "up{job=\"tierwatch\"}[10m]"}});
    return d.is_object() && !d["result"].empty() ? d["result"][0]["values"][0][0].get<double>()
                                                 : NAN;
  }();
  ASSERT_FALSE(std::isnan(t0));

  // 2. Watch: a reload switches to watch mode (saving the baseline), a second one to a
  // relay serving the after and audit phases at 400 flows/s, so drops arrive over several
  // scrapes as they would live.
  WriteConfig("watch", relay_a);
  ASSERT_NO_FATAL_FAILURE(Reload());
  ASSERT_TRUE(Process::Await([&] { return Status().value("mode", "") == "watch"; }));
  std::string relay_b;
  relay_b_ = StartRelay(
      "relay-b",
      {"--capture", Example("after.jsonl"), "--capture", Example("audit.jsonl"), "--rate", "400"},
      &relay_b);
  ASSERT_FALSE(relay_b.empty());
  WriteConfig("watch", relay_b);
  ASSERT_NO_FATAL_FAILURE(Reload());
  ASSERT_TRUE(Process::Await(
      [&] {
        json s = Status();
        return s.is_object() && s["summary"]["flows"] == all_flows && s["drops"].is_object() &&
               s["drops"]["events"] == all_drops;
      },
      absl::Seconds(40)))
      << Status().dump().substr(0, 2000);
  // Prometheus holds the final numbers, and two more scrapes after them.
  ASSERT_TRUE(Process::Await([&] { return Number("sum(tierwatch_drops_total)") == all_drops; }));
  const double settled = Number("max(timestamp(tierwatch_build_info))");
  ASSERT_TRUE(Process::Await(
      [&] { return Number("max(timestamp(tierwatch_build_info))") >= settled + 2; }));
  const json status = Status();

  // 3. Every panel. Range panels run as Grafana runs them over the test's span (1 s steps,
  // $__rate_interval = 4 x the 1 s scrape interval); instant panels at the end, $__range
  // from the first scrape.
  const double end = std::floor(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  const std::string range = absl::StrCat(static_cast<int64_t>(end - t0), "s");
  const std::map<std::string, std::string> builtins = {
      {"__range", range}, {"__rate_interval", "4s"}, {"__interval", "1s"}};
  // Panels whose zero is the truth for the example: nothing was shed or blocked (the queue
  // never filled), and the queue is empty once the example has been read.
  const std::set<std::string> zero_is_true = {"Shed and blocked", "Queue"};
  // Stats that must show exactly what tierwatch counted.
  std::map<std::string, double> real, predicted;
  for (const json& c : status["drops"]["classes"]) {
    real[c["class"]] = c["events"].get<double>() - c["predicted_events"].get<double>();
    predicted[c["class"]] = c["predicted_events"].get<double>();
  }
  double real_total = 0, predicted_total = 0;
  for (const auto& [c, n] : real) real_total += n;
  for (const auto& [c, n] : predicted) predicted_total += n;
  const std::map<std::string, double> exact = {{"Tier 0 violations", real["tier0_violation"]},
                                               {"DNS blocked", real["dns_blocked"]},
                                               {"All drops", real_total},
                                               {"Would be dropped (AUDIT)", predicted_total}};
  ASSERT_GT(real["tier0_violation"], 0);
  ASSERT_GT(real["dns_blocked"], 0);
  ASSERT_GT(predicted_total, 0);

  int panels = 0, queries = 0, lit = 0;
  std::vector<std::string> report;
  // Runs one panel's queries with `vars`; `strict`: also require a non-zero value.
  auto run_panel = [&](const std::string& dash, const json& p,
                       const std::map<std::string, std::string>& vars, bool strict) {
    bool nonzero = false;
    const std::string title = p["title"];
    for (const json& t : p["targets"]) {
      std::map<std::string, std::string> all = builtins;
      all.insert(vars.begin(), vars.end());
      const std::string expr = Substitute(t["expr"], all);
      const bool instant = t.value("instant", false);
      const std::string what =
          absl::StrCat(dash, " / ", title, " [", t["refId"].get<std::string>(), "]\n", expr);
      ++queries;
      json d = instant ? Prom("/api/v1/query", {{"query", expr}, {"time", Ts(end)}}, what)
                       : Prom("/api/v1/query_range",
                              {{"query", expr}, {"start", Ts(t0)}, {"end", Ts(end)}, {"step", "1"}},
                              what);
      if (!d.is_object()) continue;
      EXPECT_FALSE(d["result"].empty()) << "no data for the example: " << what;
      for (const json& series : d["result"]) {
        std::vector<json> points;
        if (series.contains("value")) points.push_back(series["value"]);
        for (const json& v : series.value("values", json::array())) points.push_back(v);
        for (const json& pt : points) {
          double v = NAN;
          if (absl::SimpleAtod(pt[1].get<std::string>(), &v) && std::isfinite(v) && v != 0) {
            nonzero = true;
          }
        }
      }
      if (instant && exact.count(title) && !d["result"].empty()) {
        double v = 0;
        EXPECT_TRUE(absl::SimpleAtod(d["result"][0]["value"][1].get<std::string>(), &v));
        EXPECT_DOUBLE_EQ(v, exact.at(title)) << what;
      }
    }
    if (strict && !zero_is_true.count(title)) {
      EXPECT_TRUE(nonzero) << dash << " / " << title << ": only zeros for the example";
    }
    return nonzero;
  };

  for (const char* file : kDashboards) {
    json d = LoadDashboard(file);
    const std::string dash = d["title"];
    // Variables in order; a query variable's values come from Prometheus, as Grafana's do.
    std::vector<std::pair<std::string, std::vector<std::string>>> var_values;
    std::function<std::vector<std::string>(const json&, const std::map<std::string, std::string>&)>
        resolve = [&](const json& v, const std::map<std::string, std::string>& sofar) {
          std::vector<std::string> out;
          if (v["type"] == "custom") {
            for (const json& o : v["options"]) out.push_back(o["value"]);
            return out;
          }
          static const std::regex kLabelValues(R"(^label_values\((?:(.*),\s*)?(\w+)\)$)");
          std::smatch m;
          const std::string def = v["definition"];
          EXPECT_TRUE(std::regex_match(def, m, kLabelValues)) << def;
          if (m.empty()) return out;
          std::map<std::string, std::string> params = {{"start", Ts(t0)}, {"end", Ts(end)}};
          if (m[1].matched) params["match[]"] = Substitute(m[1], sofar);
          json r = Prom(absl::StrCat("/api/v1/label/", m[2].str(), "/values"), params, def);
          if (r.is_array()) {
            for (const json& x : r) out.push_back(x);
          }
          return out;
        };
    std::map<std::string, std::string> vars;
    for (const json& v : d["templating"]["list"]) {
      if (v["type"] == "datasource") continue;
      std::vector<std::string> values = resolve(v, vars);
      EXPECT_FALSE(values.empty()) << dash << ": variable $" << v["name"] << " has no values";
      vars[v["name"]] = MultiValue(values);
      var_values.push_back({v["name"], values});
    }
    // Everything selected.
    for (const json& p : Panels(d)) {
      if (!HasQueries(p)) continue;
      ++panels;
      if (run_panel(dash, p, vars, /*strict=*/true)) ++lit;
      report.push_back(absl::StrCat(dash, " / ", p["title"].get<std::string>()));
    }
    // Each single value of the first variable (the namespace on the investigation board),
    // the later ones re-resolved under it: every selection an operator can make shows data.
    if (var_values.size() > 1) {
      const auto& [first, values] = var_values[0];
      for (const std::string& value : values) {
        std::map<std::string, std::string> single = {{first, MultiValue({value})}};
        bool seen_first = false;
        for (const json& v : d["templating"]["list"]) {
          if (v["type"] == "datasource") continue;
          if (!seen_first) {
            seen_first = true;
            continue;
          }
          single[v["name"]] = MultiValue(resolve(v, single));
        }
        for (const json& p : Panels(d)) {
          if (HasQueries(p))
            run_panel(absl::StrCat(dash, " ($", first, "=", value, ")"), p, single,
                      /*strict=*/false);
        }
      }
    }
  }

  // 4. The alert rules loaded and evaluate without errors against the real series.
  json rules = Prom("/api/v1/rules", {});
  std::set<std::string> healthy;
  if (rules.is_object()) {
    for (const json& g : rules["groups"]) {
      for (const json& r : g["rules"]) {
        EXPECT_EQ(r.value("health", ""), "ok") << r["name"] << ": " << r.value("lastError", "");
        if (r.value("health", "") == "ok") healthy.insert(r["name"]);
      }
    }
  }
  EXPECT_EQ(healthy, std::set<std::string>(std::begin(kAlerts), std::end(kAlerts)));

  const double seconds = absl::ToDoubleSeconds(absl::Now() - test_start);
  std::cout << "dashboards: " << panels << " panels, " << queries << " queries, " << lit
            << " with non-zero data; " << seconds << " s\n";
  RecordProperty("panels", panels);
  RecordProperty("queries", queries);
  RecordProperty("nonzero_panels", lit);
}

}  // namespace
}  // namespace tw
