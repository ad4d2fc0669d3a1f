// The daemon's face, through the real binaries: `tierwatch run` watching the example's
// after phase from a `tierwatch replay` relay serves /metrics (checked by promtool), the
// probes and the JSON API; its drop counts agree class by class with `tierwatch analyze`
// on the same capture; `tierwatch drops` and `tierwatch explain` read it (explain prints
// exactly what `analyze --explain` prints); unreachable servers and busy ports are clear
// exit-2 errors.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/http.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using tw::testing::Process;

std::string Example(const std::string& f) {
  return tw::testing::SourceDir() + "/examples/zero-trust-rollout/" + f;
}

// Sums the samples of `metric` in a Prometheus text scrape, by the value of `label`.
std::map<std::string, double> SumBy(const std::string& scrape, const std::string& metric,
                                    const std::string& label) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::ConsumePrefix(&line, metric) || line.empty()) continue;
    if (line[0] != '{' && line[0] != ' ') continue;  // another metric with this prefix
    size_t close = line[0] == '{' ? line.find('}') : 0;
    std::string key;
    const std::string want = label + "=\"";
    if (size_t p = line.find(want); p != absl::string_view::npos && p < close) {
      size_t start = p + want.size();
      key = std::string(line.substr(start, line.find('"', start) - start));
    }
    double v = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line.substr(close + 1)), &v)) out[key] += v;
  }
  return out;
}

struct Result {
  int status;
  std::string out, err;
};

class DaemonApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("tw_daemon_api_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Run(const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), tw::testing::TierwatchBin());
    Process p(args, dir_ / (name + ".out"), dir_ / (name + ".err"));
    int st = p.Wait();
    return {st, p.out(), p.err()};
  }

  std::string LearnBaseline() {
    std::string b = (dir_ / "baseline.twb").string();
    Result r =
        Run("learn", {"baseline", "learn", "--capture", Example("before.jsonl"), "--out", b});
    EXPECT_EQ(r.status, 0) << r.err;
    return b;
  }

  std::string StartRelay(const std::string& capture, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        tw::testing::TierwatchBin(), "replay", "--capture", capture, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    relay_ = std::make_unique<Process>(args, dir_ / "relay.out", dir_ / "relay.err");
    std::string addr = relay_->AwaitListening();
    EXPECT_FALSE(addr.empty()) << relay_->err();
    return addr;
  }

  // Starts `tierwatch run` on `yaml`; returns the HTTP address it logged ("" on failure).
  std::string StartDaemon(const std::string& yaml, std::vector<std::string> extra = {}) {
    { std::ofstream(dir_ / "tierwatch.yaml") << yaml; }
    std::vector<std::string> args = {tw::testing::TierwatchBin(), "run", "--config",
                                     (dir_ / "tierwatch.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<Process>(args, dir_ / "run.out", dir_ / "run.err");
    if (!daemon_->AwaitErr("http listening addr=")) return "";
    std::string err = daemon_->err();
    size_t pos = err.find("http listening addr=") + 20;
    return err.substr(pos, err.find(' ', pos) - pos);
  }

  static std::string WatchConfig(const std::string& relay, const std::string& baseline,
                                 const std::string& backlog = "all") {
    return absl::StrCat("relay: {address: \"", relay, "\", backlog: ", backlog,
                        "}\nmode: watch\nbaseline: {path: ", baseline,
                        "}\nhttp: {listen: \"127.0.0.1:0\"}\nlog: {level: info}\n");
  }

  json GetJson(const std::string& http, const std::string& path) {
    auto r = api::HttpGet(absl::StrCat("http://", http), path);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  fs::path dir_;
  std::unique_ptr<Process> relay_, daemon_;
};

TEST_F(DaemonApiTest, TheExampleAfterPhaseAgreesWithAnalyzeAndTheApiServesIt) {
  const std::string baseline = LearnBaseline();
  // What `tierwatch analyze` counts on the same capture with the same baseline.
  Result analyzed =
      Run("analyze", {"analyze", Example("after.jsonl"), "--baseline", baseline, "-o", "json"});
  ASSERT_EQ(analyzed.status, 0) << analyzed.err;
  std::map<std::string, double> expected;
  std::string dns_id;
  double total = 0;
  for (absl::string_view line : absl::StrSplit(analyzed.out, '\n', absl::SkipEmpty())) {
    json d = json::parse(line);
    expected[d["class"]] += 1;
    total += 1;
    if (d["class"] == "dns_blocked" && dns_id.empty()) dns_id = d["id"];
  }
  ASSERT_EQ(total, 307);  // the example's README: 307 counted drops
  ASSERT_FALSE(dns_id.empty());

  const std::string relay = StartRelay(Example("after.jsonl"));
  ASSERT_FALSE(relay.empty());
  const std::string http = StartDaemon(WatchConfig(relay, baseline), {"-o", "json"});
  ASSERT_FALSE(http.empty()) << daemon_->err();

  // Every flow read and every held drop released (the quiet tick releases the last ones).
  ASSERT_TRUE(Process::Await([&] {
    json s = GetJson(http, "/api/v1/status");
    return s.is_object() && s["drops"].is_object() && s["drops"]["events"] == 307;
  })) << GetJson(http, "/api/v1/status").dump();
  json status = GetJson(http, "/api/v1/status");
  EXPECT_EQ(status["ready"], true);
  EXPECT_EQ(status["mode"], "watch");
  EXPECT_EQ(status["summary"]["flows"], 1192);

  auto scrape = api::HttpGet("http://" + http, "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->content_type, HasSubstr("text/plain; version=0.0.4"));
  const std::string& text = scrape->body;
  std::map<std::string, double> by_class = SumBy(text, "tierwatch_drops_total", "class");
  EXPECT_EQ(by_class, expected);
  // The status API and /metrics read the same numbers.
  std::map<std::string, double> conns = SumBy(text, "tierwatch_dropped_connections", "class");
  for (const json& c : status["drops"]["classes"]) {
    EXPECT_EQ(conns[c["class"]], c["connections"].get<double>()) << c["class"];
  }
  EXPECT_EQ(SumBy(text, "tierwatch_flows_total", "verdict")["DROPPED"],
            status["summary"]["by_verdict"]["DROPPED"].get<double>());
  EXPECT_EQ(SumBy(text, "tierwatch_mode", "mode")["watch"], 1);
  EXPECT_EQ(SumBy(text, "tierwatch_relay_connected", "")[""], 1);
  EXPECT_EQ(SumBy(text, "tierwatch_baseline_connections", "")[""], 47);  // expected-classes.json
  EXPECT_GT(SumBy(text, "tierwatch_baseline_regressions", "")[""], 0);
  int series = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] != '#') ++series;
  }
  RecordProperty("series", series);
  std::cout << "series on the example's after phase: " << series << "\n";

  // Every metric served is documented in docs/metrics.md (the dashboards are built from it).
  const std::string doc = tw::testing::ReadFile(tw::testing::SourceDir() + "/docs/metrics.md");
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    std::string name(line.substr(0, line.find(' ')));
    EXPECT_THAT(doc, HasSubstr(absl::StrCat("`", name, "`")))
        << name << " is not in docs/metrics.md";
  }

  // promtool's own lint of the exposition (names, types, help).
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    std::cout << "promtool absent (Debian package prometheus): the exposition lint is skipped\n";
  } else {
    { std::ofstream(dir_ / "scrape.txt") << text; }
    std::string cmd = absl::StrCat("promtool check metrics < ", (dir_ / "scrape.txt").string(),
                                   " > ", (dir_ / "promtool.out").string(), " 2>&1");
    EXPECT_EQ(system(cmd.c_str()), 0) << tw::testing::ReadFile(dir_ / "promtool.out");
  }

  // Probes and errors.
  auto get = [&](const std::string& path) {
    auto r = api::HttpGet("http://" + http, path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : api::Response{};
  };
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").status, 200);
  EXPECT_EQ(get("/api/v1/nothing").status, 404);
  api::Response bad = get("/api/v1/drops?limit=lots");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("limit"));
  EXPECT_EQ(get("/api/v1/baseline?format=yaml").status, 200);

  // The on-call commands.
  Result drops = Run("drops", {"drops", "--server", "http://" + http, "--class", "tier0_violation",
                               "--limit", "3"});
  ASSERT_EQ(drops.status, 0) << drops.err;
  std::vector<std::string> lines = absl::StrSplit(drops.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << drops.out;
  for (const auto& l : lines) {
    EXPECT_THAT(l, HasSubstr("[critical] tier0_violation"));
    EXPECT_THAT(l, HasSubstr(" id="));
  }
  Result rejected = Run("drops-bad", {"drops", "--server", "http://" + http, "--class", "nosuch"});
  EXPECT_EQ(rejected.status, 2);
  EXPECT_THAT(rejected.err, HasSubstr("unknown class \"nosuch\""));

  Result explained = Run("explain", {"explain", "--server", "http://" + http, dns_id});
  ASSERT_EQ(explained.status, 0) << explained.err;
  Result offline = Run("analyze-explain", {"analyze", Example("after.jsonl"), "--baseline",
                                           baseline, "--explain", dns_id});
  ASSERT_EQ(offline.status, 0) << offline.err;
  EXPECT_EQ(explained.out, offline.out);
  EXPECT_THAT(explained.out, HasSubstr("dns_blocked"));
  Result explained_json =
      Run("explain-json", {"explain", "--server", "http://" + http, dns_id, "-o", "json"});
  Result offline_json =
      Run("analyze-explain-json", {"analyze", Example("after.jsonl"), "--baseline", baseline,
                                   "--explain", dns_id, "-o", "json"});
  EXPECT_EQ(explained_json.out, offline_json.out);
  Result unknown =
      Run("explain-unknown", {"explain", "--server", "http://" + http, "000000000000"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no drop with id 000000000000"));

  // The shutdown summary: the same classes.
  daemon_->Signal(SIGTERM);
  ASSERT_EQ(daemon_->Wait(), 0) << daemon_->err();
  json report = json::parse(daemon_->out());
  for (const json& c : report["drops"]["classes"]) {
    EXPECT_EQ(c["events"].get<double>(), expected[c["class"]]) << c["class"];
  }
  relay_->Signal(SIGTERM);
  relay_->Wait();
}

TEST_F(DaemonApiTest, DropsFollowPrintsNewDropsAsTheyComeAndEachOnce) {
  const std::string baseline = LearnBaseline();
  // Paced: the drops arrive over a few seconds, after `drops -f` has started.
  const std::string relay = StartRelay(Example("after.jsonl"), {"--rate", "300"});
  ASSERT_FALSE(relay.empty());
  const std::string http = StartDaemon(WatchConfig(relay, baseline, "none"));
  ASSERT_FALSE(http.empty()) << daemon_->err();
  Process follow({tw::testing::TierwatchBin(), "drops", "--server", "http://" + http, "-f",
                  "--interval", "200ms", "--limit", "1", "-o", "json"},
                 dir_ / "follow.out", dir_ / "follow.err");
  // More lines than the first answer's limit: they came from polling.
  ASSERT_TRUE(Process::Await([&] { return Process::Count(follow.out(), "\n") >= 40; }))
      << follow.out() << follow.err();
  // SIGTERM ends the follow cleanly, after whole lines (every line below must parse).
  follow.Signal(SIGTERM);
  EXPECT_EQ(follow.Wait(), 0) << follow.err();
  std::set<std::string> ids;
  for (absl::string_view line : absl::StrSplit(follow.out(), '\n', absl::SkipEmpty())) {
    json d = json::parse(line, nullptr, false);
    ASSERT_TRUE(d.is_object()) << line;
    EXPECT_TRUE(ids.insert(d["id"].get<std::string>()).second) << "printed twice: " << line;
  }
  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->err();
  relay_->Signal(SIGTERM);
  relay_->Wait();
}

// A daemon whose API wants a bearer token (http.bearer_token_file): drops, explain and
// suggest --server send it with --token-file; without it, or with a wrong one, they say
// which flag is missing or refused (exit 2).
TEST_F(DaemonApiTest, TheOnCallCommandsSendTheTokenFromTokenFile) {
  const std::string baseline = LearnBaseline();
  const std::string relay = StartRelay(Example("after.jsonl"));
  ASSERT_FALSE(relay.empty());
  std::ofstream(dir_ / "token") << "s3cret-token\n";
  std::ofstream(dir_ / "wrong") << "not-it\n";
  const std::string yaml =
      absl::StrReplaceAll(WatchConfig(relay, baseline),
                          {{"http: {listen: \"127.0.0.1:0\"}",
                            absl::StrCat("http: {listen: \"127.0.0.1:0\", bearer_token_file: ",
                                         (dir_ / "token").string(), "}")}});
  const std::string secured = StartDaemon(yaml);
  ASSERT_FALSE(secured.empty()) << daemon_->err();
  const std::string server = "http://" + secured;
  ASSERT_TRUE(Process::Await([&] {
    Result r = Run("drops", {"drops", "--server", server, "--token-file", (dir_ / "token").string(),
                             "-o", "json"});
    return r.status == 0 && !r.out.empty();
  }));
  Result ok = Run("drops", {"drops", "--server", server, "--token-file", (dir_ / "token").string(),
                            "--limit", "1", "-o", "json"});
  ASSERT_EQ(ok.status, 0) << ok.err;
  const std::string id = json::parse(ok.out)["id"];
  Result explain = Run(
      "explain", {"explain", "--server", server, "--token-file", (dir_ / "token").string(), id});
  EXPECT_EQ(explain.status, 0) << explain.err;
  EXPECT_THAT(explain.out, HasSubstr(id));

  Result none = Run("drops", {"drops", "--server", server});
  EXPECT_EQ(none.status, 2);
  EXPECT_THAT(none.err, HasSubstr("answered 401"));
  EXPECT_THAT(none.err, HasSubstr("needs a token: --token-file FILE"));
  Result wrong = Run(
      "explain", {"explain", "--server", server, "--token-file", (dir_ / "wrong").string(), id});
  EXPECT_EQ(wrong.status, 2);
  EXPECT_THAT(wrong.err, HasSubstr("the token from --token-file was refused"));
  Result missing = Run("suggest", {"suggest", "--server", server, "--token-file",
                                   (dir_ / "absent").string(), "--out", (dir_ / "s").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_THAT(missing.err, HasSubstr("--token-file: cannot read"));
  Result suggest_none =
      Run("suggest", {"suggest", "--server", server, "--out", (dir_ / "s").string()});
  EXPECT_EQ(suggest_none.status, 2);
  EXPECT_THAT(suggest_none.err, HasSubstr("needs a token: --token-file FILE"));
  for (const std::string& log : {daemon_->err(), ok.err, explain.err}) {
    EXPECT_THAT(log, ::testing::Not(HasSubstr("s3cret-token")));
  }
  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->Wait(), 0) << daemon_->err();
  relay_->Signal(SIGTERM);
  relay_->Wait();
}

TEST_F(DaemonApiTest, UnreachableServerIsExitTwoNamingTheUrlAndTheCause) {
  for (const std::string cmd : {"drops", "explain"}) {
    std::vector<std::string> args = {cmd, "--server", "http://127.0.0.1:1"};
    if (cmd == "explain") args.push_back("3f9a1c07b2e4");
    Result r = Run(cmd, args);
    EXPECT_EQ(r.status, 2) << cmd;
    EXPECT_THAT(r.err, HasSubstr("cannot reach tierwatch at http://127.0.0.1:1/api/v1/drops"))
        << cmd;
    EXPECT_THAT(r.err, HasSubstr("connection failed")) << cmd;
  }
}

TEST_F(DaemonApiTest, AnHttpPortInUseIsExitTwoNamingIt) {
  // Something already listens there.
  api::HttpServer squatter([](const api::Request&) { return api::Response{}; });
  ASSERT_TRUE(squatter.Start("127.0.0.1:0").ok());
  {
    std::ofstream(dir_ / "c.jsonl") << "";
    std::ofstream(dir_ / "tierwatch.yaml")
        << "mode: learn\nbaseline: {path: b.twb}\nhttp: {listen: \"" << squatter.address()
        << "\"}\n";
  }
  Result r = Run("run", {"run", "--config", (dir_ / "tierwatch.yaml").string(), "--capture",
                         (dir_ / "c.jsonl").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("cannot listen on ", squatter.address())));
  EXPECT_THAT(r.err, HasSubstr("http.listen"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace tw
