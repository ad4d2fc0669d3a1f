// The daemon config: the documented example parses, defaults hold, and every mistake in a
// file is reported at once with its line.
#include "config/config.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/paths.h"

namespace tw::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

LoadOptions CheckingFiles() {
  LoadOptions o;
  o.check_files = true;
  return o;
}

LoadOptions WithoutRelay() {
  LoadOptions o;
  o.require_relay_address = false;
  return o;
}

std::string Messages(const ParsedConfig& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.ToString() + "\n";
  return out;
}

// Finds the error reported at `line` or fails.
std::string ErrorAt(const ParsedConfig& r, int line) {
  for (const auto& e : r.errors) {
    if (e.line == line) return e.ToString();
  }
  ADD_FAILURE() << "no error at line " << line << "; errors:\n" << Messages(r);
  return "";
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("tw_config_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ConfigTest, DocumentedExampleIsValid) {
  std::string path = tw::testing::SourceDir() + "/config/tierwatch.example.yaml";
  ParsedConfig r = LoadFile(path);
  ASSERT_TRUE(r.ok()) << Messages(r);
  const DaemonConfig& c = r.config;
  EXPECT_EQ(c.relay.address, "hubble-relay.kube-system.svc.cluster.local:80");
  EXPECT_FALSE(c.relay.tls.enabled);
  EXPECT_EQ(c.relay.keepalive, absl::Seconds(30));
  EXPECT_EQ(c.relay.resume_window, absl::Seconds(2));
  EXPECT_EQ(c.relay.backoff.initial, absl::Milliseconds(200));
  EXPECT_EQ(c.relay.backoff.max, absl::Seconds(30));
  EXPECT_THAT(c.relay.filters.whitelist, IsEmpty());
  EXPECT_EQ(c.mode, Mode::kLearn);
  EXPECT_EQ(c.learn_for, absl::Hours(168));
  EXPECT_EQ(c.baseline.path, "/var/lib/tierwatch/baseline.twb");
  EXPECT_EQ(c.baseline.save_interval, absl::Minutes(5));
  EXPECT_EQ(c.tiers, "");
  EXPECT_THAT(c.policies, IsEmpty());
  EXPECT_EQ(c.pipeline.queue_capacity, 65536);
  EXPECT_EQ(c.pipeline.overflow, Overflow::kBlock);
  EXPECT_EQ(c.recent_drops, 1000);
  EXPECT_EQ(c.suggestions.max_connections, 10000);
  EXPECT_EQ(c.suggestions.interval, absl::Seconds(10));
  EXPECT_EQ(c.log.level, "info");
  EXPECT_FALSE(c.log.json);
}

TEST(ConfigTest, Suggestions) {
  ParsedConfig r = Parse("relay: {address: a:1}\nmode: watch\n", "s.yaml");
  EXPECT_EQ(r.config.suggestions, SuggestionsConfig{});
  r = Parse("relay: {address: a:1}\nmode: watch\nsuggestions: {max_connections: 0, interval: 1m}\n",
            "s.yaml");
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.config.suggestions.max_connections, 0);
  EXPECT_EQ(r.config.suggestions.interval, absl::Minutes(1));
  r = Parse(
      "relay: {address: a:1}\nmode: watch\n"
      "suggestions:\n  max_connections: -1\n  interval: 0s\n  cap: 3\n",
      "s.yaml");
  EXPECT_THAT(
      ErrorAt(r, 4),
      HasSubstr("suggestions.max_connections: expected an integer from 0 to 16777216, got \"-1\""));
  EXPECT_THAT(ErrorAt(r, 5),
              HasSubstr("suggestions.interval: expected a duration longer than zero"));
  EXPECT_THAT(ErrorAt(r, 6), HasSubstr("cap"));
}

TEST(ConfigTest, MinimalWatchConfigTakesDefaults) {
  ParsedConfig r = Parse("relay:\n  address: 127.0.0.1:4245\nmode: watch\n", "min.yaml");
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.config.relay.address, "127.0.0.1:4245");
  EXPECT_EQ(r.config.mode, Mode::kWatch);
  EXPECT_EQ(r.config.learn_for, absl::Hours(168));
  EXPECT_EQ(r.config.relay.resume_window, absl::Seconds(2));
  EXPECT_EQ(r.config.baseline.save_interval, absl::Minutes(5));
  EXPECT_EQ(r.config.baseline.path, "");
}

TEST(ConfigTest, EveryErrorIsReportedWithItsLine) {
  const std::string yaml =
      "relay:\n"                   // 1
      "  adress: relay:4245\n"     // 2 unknown key (typo), so address is missing
      "  keepalive: 30 seconds\n"  // 3 bad duration
      "  tls:\n"                   // 4
      "    enabled: maybe\n"       // 5 not a bool
      "  backoff:\n"               // 6
      "    initial: 1m\n"          // 7
      "    max: 10s\n"             // 8 (initial > max reported at line 6)
      "mode: learning\n"           // 9 not learn|watch
      "learn_for: [1h]\n"          // 10 wrong type
      "baseline:\n"                // 11
      "  path: /tmp/b.twb\n"       // 12
      "  save_interval: -5m\n"     // 13 bad duration
      "pipeline:\n"                // 14
      "  queue_capacity: lots\n"   // 15 not a number
      "  overflow: spill\n"        // 16 not block|drop
      "recent_drops: -1\n"         // 17 out of range
      "log:\n"                     // 18
      "  level: verbose\n"         // 19 unknown level
      "  json: 1\n"                // 20 not a bool
      "colour: blue\n";            // 21 unknown key
  ParsedConfig r = Parse(yaml, "bad.yaml");
  EXPECT_THAT(ErrorAt(r, 1), HasSubstr("relay.address: required"));
  EXPECT_THAT(ErrorAt(r, 2),
              HasSubstr("relay: unknown key \"adress\" (did you mean \"address\"?)"));
  EXPECT_THAT(ErrorAt(r, 3), HasSubstr("relay.keepalive: expected a duration such as 30s, 5m or "
                                       "168h (units ns, us, ms, s, m, h, d), got \"30 seconds\""));
  EXPECT_THAT(ErrorAt(r, 5), HasSubstr("relay.tls.enabled: expected true or false"));
  EXPECT_THAT(ErrorAt(r, 6), HasSubstr("relay.backoff: initial (1m) is longer than max (10s)"));
  EXPECT_THAT(ErrorAt(r, 9), HasSubstr("mode: expected learn or watch, got \"learning\""));
  EXPECT_THAT(ErrorAt(r, 10), HasSubstr("learn_for: expected a duration such as 30s, 5m or 168h "
                                        "(units ns, us, ms, s, m, h, d), got a list"));
  EXPECT_THAT(ErrorAt(r, 13), HasSubstr("baseline.save_interval: expected a duration such as 30s"));
  EXPECT_THAT(
      ErrorAt(r, 15),
      HasSubstr("pipeline.queue_capacity: expected an integer from 1 to 16777216, got \"lots\""));
  EXPECT_THAT(ErrorAt(r, 16),
              HasSubstr("pipeline.overflow: expected block or drop, got \"spill\""));
  EXPECT_THAT(ErrorAt(r, 17),
              HasSubstr("recent_drops: expected an integer from 0 to 16777216, got \"-1\""));
  EXPECT_THAT(
      ErrorAt(r, 19),
      HasSubstr(
          "log.level: expected one of trace, debug, info, warn, error or off, got \"verbose\""));
  EXPECT_THAT(ErrorAt(r, 20), HasSubstr("log.json: expected true or false, got \"1\""));
  EXPECT_THAT(ErrorAt(r, 21),
              HasSubstr("config: unknown key \"colour\"; expected one of: relay, mode"));
  EXPECT_EQ(r.errors.size(), 14u) << Messages(r);

  // One status carries them all, in file order, each naming the file.
  absl::Status st = DiagnosticsToStatus(r.errors);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  std::string text(st.message());
  EXPECT_TRUE(absl::StartsWith(text, "bad.yaml:1:1: error: relay.address: required")) << text;
  EXPECT_THAT(text, HasSubstr("\nbad.yaml:21:1: error: config: unknown key \"colour\""));
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  ParsedConfig r = Parse("relay:\n  address: [a, b\nmode: learn\n", "broken.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Messages(r);
  EXPECT_EQ(r.errors[0].file, "broken.yaml");
  EXPECT_GE(r.errors[0].line, 2);
  EXPECT_THAT(r.errors[0].message, HasSubstr("YAML syntax error"));
}

TEST(ConfigTest, EmptyFileAndMissingFile) {
  ParsedConfig empty = Parse("", "empty.yaml");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_THAT(empty.errors[0].ToString(), HasSubstr("empty.yaml:1: error: empty config"));

  ParsedConfig missing = LoadFile("/nonexistent/tierwatch.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_THAT(missing.errors[0].ToString(),
              HasSubstr("/nonexistent/tierwatch.yaml: error: cannot read the config file"));
}

TEST(ConfigTest, TopLevelMustBeAMapping) {
  ParsedConfig r = Parse("- relay\n- mode\n", "list.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Messages(r);
  EXPECT_THAT(
      r.errors[0].ToString(),
      HasSubstr("list.yaml:1:1: error: config: expected a mapping with keys (relay, mode, "));
}

TEST(ConfigTest, DuplicateKeysAreErrors) {
  ParsedConfig r = Parse("relay:\n  address: a:1\nmode: watch\nmode: learn\n", "dup.yaml");
  EXPECT_THAT(ErrorAt(r, 4), HasSubstr("mode: duplicate key (first given at line 3)"));
  EXPECT_EQ(r.config.mode, Mode::kWatch);
}

// The probe's 528-byte config: 8 levels of 10 aliases each under relay.filters expand to
// 10^8 nodes. It is refused after a bounded walk, at its line, before any copy is made.
std::string AliasBombConfig() {
  std::string y = "relay:\n  address: a:1\n  filters:\n    - l0: &l0 [x]\n";
  for (int i = 1; i <= 8; ++i) {
    y += "      l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) y += std::string(j ? "," : "") + "*l" + std::to_string(i - 1);
    y += "]\n";
  }
  return y;
}

TEST(ConfigTest, AliasBombIsRefusedWithItsLine) {
  ParsedConfig r = Parse(AliasBombConfig(), "bomb.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << Messages(r);
  EXPECT_EQ(r.errors[0].file, "bomb.yaml");
  EXPECT_GE(r.errors[0].line, 4);
  EXPECT_THAT(r.errors[0].ToString(), HasSubstr("relay.filters[0].l"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("expands to more than 100000 YAML nodes"));
}

TEST(ConfigTest, DuplicateKeysInsideFiltersAreErrors) {
  ParsedConfig r = Parse(
      "relay:\n  address: a:1\n  filters:\n    - verdict: [DROPPED]\n      verdict: [AUDIT]\n",
      "dup.yaml");
  EXPECT_THAT(ErrorAt(r, 5),
              HasSubstr("relay.filters[0].verdict: duplicate key (first given at line 4)"));
}

TEST(ConfigTest, RelayAddressOptionalForCaptures) {
  const std::string yaml = "mode: watch\n";
  EXPECT_FALSE(Parse(yaml, "c.yaml").ok());
  ParsedConfig r = Parse(yaml, "c.yaml", WithoutRelay());
  EXPECT_TRUE(r.ok()) << Messages(r);
}

TEST(ConfigTest, LearnModeNeedsABaselinePath) {
  ParsedConfig r = Parse("relay: {address: a:1}\nmode: learn\n", "l.yaml");
  EXPECT_THAT(ErrorAt(r, 2), HasSubstr("baseline.path: required in learn mode"));
  EXPECT_EQ(r.errors.size(), 1u);
}

// A mode that does not parse is one error: the default it left (learn) must not add a
// "baseline.path: required in learn mode" the operator never asked for.
TEST(ConfigTest, AnUnreadableModeIsOneErrorNotItsConsequences) {
  ParsedConfig r = Parse("relay: {address: a:1}\nmode: wach\n", "m.yaml");
  EXPECT_THAT(ErrorAt(r, 2), HasSubstr("mode: expected learn or watch, got \"wach\""));
  EXPECT_EQ(r.errors.size(), 1u) << Messages(r);
}

TEST(ConfigTest, RelativePathsFollowTheConfigFile) {
  TempDir dir;
  std::string path = dir.Write("etc/tw.yaml",
                               "relay:\n"
                               "  address: a:1\n"
                               "  tls: {enabled: true, ca_file: certs/ca.pem,"
                               " cert_file: /abs/c.pem, key_file: k.pem}\n"
                               "baseline: {path: ../var/b.twb}\n"
                               "tiers: tiers.yaml\n"
                               "policies: [pol/, /abs/p.yaml]\n");
  ParsedConfig r = LoadFile(path);
  ASSERT_TRUE(r.ok()) << Messages(r);
  std::string etc = (dir.path() / "etc").string();
  EXPECT_EQ(r.config.relay.tls.ca_file, etc + "/certs/ca.pem");
  EXPECT_EQ(r.config.relay.tls.cert_file, "/abs/c.pem");
  EXPECT_EQ(r.config.relay.tls.key_file, etc + "/k.pem");
  EXPECT_EQ(r.config.baseline.path, (dir.path() / "var/b.twb").string());
  EXPECT_EQ(r.config.tiers, etc + "/tiers.yaml");
  EXPECT_THAT(r.config.policies, ElementsAre(etc + "/pol/", "/abs/p.yaml"));
}

TEST(ConfigTest, TlsConsistency) {
  ParsedConfig r = Parse(
      "relay:\n  address: a:1\n  tls:\n    enabled: false\n    cert_file: c.pem\n"
      "mode: watch\n",
      "t.yaml");
  EXPECT_THAT(ErrorAt(r, 3), HasSubstr("cert_file and key_file go together"));
  EXPECT_EQ(r.errors.size(), 2u) << Messages(r);  // also: files given but not enabled
}

TEST(ConfigTest, FiltersKeptAsYamlTreesWithLines) {
  ParsedConfig r = Parse(
      "relay:\n"                             // 1
      "  address: a:1\n"                     // 2
      "  filters:\n"                         // 3
      "    whitelist:\n"                     // 4
      "      - verdict: [DROPPED, AUDIT]\n"  // 5
      "      - event_type: [{type: 5}]\n"    // 6
      "        source_pod: [\"123\"]\n"      // 7
      "    blacklist:\n"                     // 8
      "      - reply: true\n"                // 9
      "      - not-a-map\n"                  // 10
      "mode: watch\n",
      "f.yaml");
  EXPECT_THAT(ErrorAt(r, 10), HasSubstr("relay.filters.blacklist[1]: expected a flow filter"));
  const auto& wl = r.config.relay.filters.whitelist;
  ASSERT_EQ(wl.size(), 2u);
  EXPECT_EQ(wl[0].ToString(), "{verdict: [DROPPED, AUDIT]}");
  EXPECT_EQ(wl[0].line, 5);
  ASSERT_EQ(wl[1].items.size(), 2u);
  EXPECT_EQ(wl[1].items[0].key, "event_type");
  EXPECT_EQ(wl[1].items[1].key, "source_pod");
  EXPECT_EQ(wl[1].items[1].key_line, 7);
  ASSERT_EQ(wl[1].items[1].items.size(), 1u);
  EXPECT_TRUE(wl[1].items[1].items[0].quoted);
  EXPECT_FALSE(wl[1].items[0].items[0].items[0].quoted);  // type: 5
  ASSERT_EQ(r.config.relay.filters.blacklist.size(), 1u);
  EXPECT_EQ(r.config.relay.filters.blacklist[0].ToString(), "{reply: true}");
}

TEST(ConfigTest, RelayEqualityIgnoresLinesButNotContent) {
  auto relay = [](const std::string& yaml) { return Parse(yaml, "x.yaml").config.relay; };
  RelayConfig a = relay(
      "relay:\n  address: a:1\n  filters: {whitelist: [{verdict: [DROPPED]}]}\n"
      "mode: watch\n");
  RelayConfig moved = relay(
      "\n\nrelay:\n  address: a:1\n  filters:\n    whitelist:\n"
      "      - verdict: [DROPPED]\nmode: watch\n");
  RelayConfig other = relay(
      "relay:\n  address: a:1\n  filters: {whitelist: [{verdict: [AUDIT]}]}\n"
      "mode: watch\n");
  RelayConfig addr = relay(
      "relay:\n  address: b:1\n  filters: {whitelist: [{verdict: [DROPPED]}]}\n"
      "mode: watch\n");
  EXPECT_TRUE(a == moved);
  EXPECT_TRUE(a != other);
  EXPECT_TRUE(a != addr);
}

TEST(ConfigTest, SingleStringPolicyIsAListOfOne) {
  ParsedConfig r = Parse("relay: {address: a:1}\nmode: watch\npolicies: /p\n", "");
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_THAT(r.config.policies, ElementsAre("/p"));
  EXPECT_EQ(r.config.file, "");
}

TEST(ConfigTest, EmptySectionsTakeDefaults) {
  ParsedConfig r =
      Parse("relay:\n  address: a:1\n  tls:\n  backoff:\nmode: watch\nlog:\n", "e.yaml");
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.config.log.level, "info");
  EXPECT_EQ(r.config.relay.backoff.max, absl::Seconds(30));
}

TEST(ConfigTest, SettingsLeftEmptyReadAsEmpty) {
  ParsedConfig r = Parse(
      "relay:\n  address: a:1\n  backlog:\nmode: watch\n"
      "http: {listen: , bearer_token_file: }\ntiers:\npolicies:\n",
      "e.yaml");
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.config.http.listen, "");  // the HTTP server turned off
  EXPECT_EQ(r.config.http.bearer_token_file, "");
  EXPECT_EQ(r.config.tiers, "");
  EXPECT_THAT(r.config.policies, IsEmpty());
  EXPECT_EQ(r.config.relay.backlog.kind, Backlog::Kind::kNone);
  // A value that must be given says it got nothing.
  r = Parse("relay: {address: a:1}\nmode: watch\nlog: {json: }\n", "e.yaml");
  EXPECT_THAT(ErrorAt(r, 3), HasSubstr("log.json: expected true or false, got nothing"));
}

TEST(ConfigTest, ErrorsCarryTheColumnOfTheValue) {
  ParsedConfig r = Parse(
      "relay: {address: a:1}\nmode: lern\npipeline: {queue_capacity: [1]}\n"
      "baseline: {path: b.twb}\n",
      "c.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << Messages(r);
  EXPECT_EQ(ErrorAt(r, 2),
            "c.yaml:2:7: error: mode: expected learn or watch, got \"lern\" (did you mean "
            "\"learn\"?)");
  EXPECT_EQ(ErrorAt(r, 3),
            "c.yaml:3:28: error: pipeline.queue_capacity: expected an integer from 1 to "
            "16777216, got a list");
}

TEST(ConfigTest, ZeroDurationsWhereTheyMakeNoSense) {
  ParsedConfig r = Parse(
      "relay: {address: a:1, keepalive: 0s, resume_window: 0s}\n"
      "mode: watch\nlearn_for: 0s\n",
      "z.yaml");
  EXPECT_THAT(
      ErrorAt(r, 1),
      HasSubstr("relay.keepalive: expected a duration longer than zero such as 30s, got \"0s\""));
  EXPECT_THAT(ErrorAt(r, 3), HasSubstr("learn_for: expected a duration longer than zero"));
  EXPECT_EQ(r.errors.size(), 2u) << Messages(r);  // resume_window 0 is allowed
}

}  // namespace
}  // namespace tw::config

namespace tw::config {
namespace {

TEST(ConfigTest, RelayBacklog) {
  auto backlog = [](const std::string& v) {
    return Parse("relay: {address: a:1, backlog: " + v + "}\nmode: watch\n", "b.yaml");
  };
  EXPECT_EQ(Parse("relay: {address: a:1}\nmode: watch\n", "b.yaml").config.relay.backlog.kind,
            Backlog::Kind::kNone);
  EXPECT_EQ(backlog("none").config.relay.backlog.kind, Backlog::Kind::kNone);
  EXPECT_EQ(backlog("all").config.relay.backlog.kind, Backlog::Kind::kAll);
  ParsedConfig d = backlog("10m");
  EXPECT_EQ(d.config.relay.backlog.kind, Backlog::Kind::kDuration);
  EXPECT_EQ(d.config.relay.backlog.duration, absl::Minutes(10));
  ParsedConfig bad = backlog("everything");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_THAT(bad.errors[0].ToString(),
              HasSubstr("b.yaml:1:32: error: relay.backlog: expected none, all or a duration"));
  EXPECT_TRUE(backlog("all").config.relay != backlog("none").config.relay);
}

}  // namespace
}  // namespace tw::config

namespace tw::config {
namespace {

// `run --check` said "config OK" for a config naming files that do not exist; now every
// such problem is reported at once, each at the line naming the file.
TEST(ConfigCheckFilesTest, EveryMissingFileAtItsLine) {
  TempDir dir;
  const std::string path = dir.Write("tw.yaml",
                                     "relay:\n"                              // 1
                                     "  address: a:1\n"                      // 2
                                     "  tls:\n"                              // 3
                                     "    enabled: true\n"                   // 4
                                     "    ca_file: ca.pem\n"                 // 5
                                     "    cert_file: client.pem\n"           // 6
                                     "    key_file: client.key\n"            // 7
                                     "mode: watch\n"                         // 8
                                     "baseline:\n"                           // 9
                                     "  path: nodir/baseline.twb\n"          // 10
                                     "tiers: tiers.yaml\n"                   // 11
                                     "policies: [policies/, more.yaml]\n");  // 12
  dir.Write("client.pem", "x");
  dir.Write("more.yaml", "");
  ParsedConfig plain = LoadFile(path);
  EXPECT_TRUE(plain.ok()) << Messages(plain);  // without check_files nothing is opened

  ParsedConfig r = LoadFile(path, CheckingFiles());
  EXPECT_THAT(ErrorAt(r, 5), HasSubstr("relay.tls.ca_file: CA file "));
  EXPECT_THAT(ErrorAt(r, 5), HasSubstr("ca.pem does not exist"));
  EXPECT_THAT(ErrorAt(r, 7), HasSubstr("client.key does not exist"));
  EXPECT_THAT(ErrorAt(r, 10), HasSubstr("baseline.path: the directory "));
  EXPECT_THAT(ErrorAt(r, 10), HasSubstr("nodir does not exist"));
  EXPECT_THAT(ErrorAt(r, 11), HasSubstr("tiers: tier config "));
  EXPECT_THAT(ErrorAt(r, 12), HasSubstr("policies[0]: "));
  EXPECT_EQ(r.errors.size(), 5u) << Messages(r);
  for (const Diagnostic& e : r.errors) EXPECT_GT(e.column, 0) << e.ToString();  // at the value
}

TEST(ConfigCheckFilesTest, WatchModeNeedsTheBaselineFile) {
  TempDir dir;
  const std::string path =
      dir.Write("tw.yaml", "relay: {address: a:1}\nmode: watch\nbaseline:\n  path: b.twb\n");
  ParsedConfig r = LoadFile(path, CheckingFiles());
  EXPECT_THAT(ErrorAt(r, 4), HasSubstr("b.twb does not exist; watch mode compares"));
  dir.Write("b.twb", "");
  EXPECT_TRUE(LoadFile(path, CheckingFiles()).ok());
}

TEST(ConfigCheckFilesTest, AnUnwritableBaselineDirectoryIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes to any directory; run as a user to check";
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "ro");
  std::filesystem::permissions(
      dir.path() / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const std::string path =
      dir.Write("tw.yaml", "relay: {address: a:1}\nmode: learn\nbaseline:\n  path: ro/b.twb\n");
  ParsedConfig r = LoadFile(path, CheckingFiles());
  EXPECT_THAT(ErrorAt(r, 4), HasSubstr("is not writable"));
  std::filesystem::permissions(dir.path() / "ro", std::filesystem::perms::owner_all);
}

TEST(ConfigRelayOverrideTest, FlagsWinOverTheConfig) {
  LoadOptions o;
  o.relay.address = "flag:4245";
  o.relay.ca_file = "/etc/ca.pem";
  o.relay.server_name = "ui.hubble-relay.cilium.io";
  ParsedConfig r = Parse("relay:\n  address: cfg:80\nmode: watch\n", "c.yaml", o);
  ASSERT_TRUE(r.ok()) << Messages(r);
  EXPECT_EQ(r.config.relay.address, "flag:4245");
  EXPECT_TRUE(r.config.relay.tls.enabled);  // a CA turns TLS on
  EXPECT_EQ(r.config.relay.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(r.config.relay.tls.server_name, "ui.hubble-relay.cilium.io");
}

TEST(ConfigRelayOverrideTest, AFlagAddressSatisfiesTheRequiredKey) {
  LoadOptions o;
  o.relay.address = "flag:4245";
  ParsedConfig r = Parse("mode: watch\n", "c.yaml", o);
  EXPECT_TRUE(r.ok()) << Messages(r);
  EXPECT_FALSE(Parse("mode: watch\n", "c.yaml").ok());
}

TEST(ConfigRelayOverrideTest, ClientCertificateWithoutKeyIsAnError) {
  LoadOptions o;
  o.relay.cert_file = "client.pem";
  ParsedConfig r = Parse("relay: {address: a:1}\nmode: watch\n", "c.yaml", o);
  EXPECT_THAT(ErrorAt(r, 0), HasSubstr("--tls-client-cert-file and --tls-client-key-file go"));
}

}  // namespace
}  // namespace tw::config
