// `tierwatch baseline learn|export|diff` and `tierwatch audit` end to end: the real binary on
// the bundled example's captures, exit statuses checked (0 same, 1 differences, 2 bad input),
// and learning over gRPC from a real `tierwatch replay` process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "nlohmann/json.hpp"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

using Result = testing::RunResult;
using testing::Slurp;

class BaselineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("tw_baseline_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    example_ = fs::path(testing::SourceDir()) / "examples" / "zero-trust-rollout";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Run(const std::string& args) {
    return testing::RunTierwatch(args, dir_, {.in_dir = true});
  }
  std::string Example(const char* name) { return (example_ / name).string(); }
  // Learns before.jsonl into before.twb and exports before.yaml.
  void LearnBefore() {
    Result r = Run("baseline learn --capture " + Example("before.jsonl") + " --out before.twb");
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    r = Run("baseline export before.twb --out before.yaml");
    ASSERT_EQ(r.status, 0) << r.err;
  }

  fs::path dir_, example_;
};

TEST_F(BaselineCli, LearnExportIsStableAndMatchesTheExample) {
  Result r = Run("baseline learn --capture " + Example("before.jsonl") + " --out before.twb");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("learned 47 connection(s) from 1053 flows"));
  EXPECT_THAT(r.out, HasSubstr("replies"));
  EXPECT_TRUE(fs::exists(dir_ / "before.twb"));
  EXPECT_FALSE(fs::exists(dir_ / "before.twb.tmp"));

  r = Run("baseline export before.twb");
  ASSERT_EQ(r.status, 0) << r.err;
  std::string yaml = r.out;
  EXPECT_THAT(yaml, HasSubstr("kind: TierwatchBaseline"));
  EXPECT_THAT(yaml, HasSubstr("connections: 47"));
  EXPECT_THAT(yaml, HasSubstr("destination: {fqdn: acme-v02.api.letsencrypt.org}"));
  // Stable: the same bytes again, and from the document itself.
  EXPECT_EQ(Run("baseline export before.twb").out, yaml);
  ASSERT_EQ(Run("baseline export before.twb --out before.yaml").status, 0);
  EXPECT_EQ(Slurp(dir_ / "before.yaml"), yaml);
  EXPECT_EQ(Run("baseline export before.yaml").out, yaml);

  r = Run("baseline export before.twb -o json");
  ASSERT_EQ(r.status, 0);
  json doc = json::parse(r.out);
  std::ifstream want_file(Example("expected-classes.json"));
  json want = json::parse(want_file);
  ASSERT_EQ(doc["connections"].size(), want["before"]["baseline_connections"].size());
  EXPECT_EQ(doc["metadata"]["connections"], 47);

  // --out b.json writes JSON (the extension decides), never YAML into a .json file.
  ASSERT_EQ(Run("baseline export before.twb --out b.json").status, 0);
  EXPECT_EQ(json::parse(Slurp(dir_ / "b.json"))["metadata"]["connections"], 47);
  Result clash = Run("baseline export before.twb -o yaml --out c.json");
  EXPECT_EQ(clash.status, 2);
  EXPECT_THAT(clash.err, HasSubstr("c.json is a .json file but -o says yaml"));
  EXPECT_FALSE(fs::exists(dir_ / "c.json"));
}

TEST_F(BaselineCli, DiffExitStatuses) {
  LearnBefore();
  // Identical (snapshot vs its own document): 0.
  Result same = Run("baseline diff before.twb before.yaml");
  EXPECT_EQ(same.status, 0) << same.out << same.err;
  EXPECT_THAT(same.out, HasSubstr("no differences"));

  // The audit phase has connections the baseline does not: 1.
  ASSERT_EQ(Run("baseline learn --capture " + Example("audit.jsonl") + " --out audit.twb").status,
            0);
  Result diff = Run("baseline diff before.yaml audit.twb");
  EXPECT_EQ(diff.status, 1) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("new in audit.twb"));
  EXPECT_THAT(diff.out, HasSubstr("  + business/odoo -> business/n8n:5678/TCP"));
  Result back = Run("baseline diff audit.twb before.yaml -o json");
  EXPECT_EQ(back.status, 1);
  json j = json::parse(back.out);
  EXPECT_EQ(j["identical"], false);
  EXPECT_TRUE(j["new"].empty());
  EXPECT_FALSE(j["vanished"].empty());

  // Bad input: 2, naming the file and the problem.
  Result missing = Run("baseline diff before.yaml nope.twb");
  EXPECT_EQ(missing.status, 2);
  EXPECT_THAT(missing.err, HasSubstr("nope.twb"));
  std::string bytes = Slurp(dir_ / "before.twb");
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(dir_ / "corrupt.twb", std::ios::binary) << bytes;
  Result corrupt = Run("baseline diff before.yaml corrupt.twb");
  EXPECT_EQ(corrupt.status, 2);
  EXPECT_THAT(corrupt.err, HasSubstr("corrupt.twb: corrupt baseline snapshot"));
  std::ofstream(dir_ / "foreign.yaml") << "apiVersion: v1\nkind: ConfigMap\n";
  Result foreign = Run("baseline diff foreign.yaml before.yaml");
  EXPECT_EQ(foreign.status, 2);
  EXPECT_THAT(foreign.err, HasSubstr("foreign.yaml: not a tierwatch baseline document"));
  EXPECT_EQ(Run("baseline diff before.yaml").status, 2);  // usage
}

TEST_F(BaselineCli, AuditAgainstTheDocumentedBaseline) {
  LearnBefore();
  Result same = Run("audit --baseline before.yaml --capture " + Example("before.jsonl"));
  EXPECT_EQ(same.status, 0) << same.out << same.err;
  EXPECT_THAT(same.out, HasSubstr("no differences"));

  // After enforcement some documented connections no longer get through, and new ones show.
  Result after = Run("audit --baseline before.yaml --capture " + Example("after.jsonl"));
  EXPECT_EQ(after.status, 1) << after.err;
  EXPECT_THAT(after.out, HasSubstr("new since the documented baseline"));
  EXPECT_THAT(after.out, HasSubstr("  + business/debug-shell -> kube-system/coredns:53/UDP"));
  // Seen DROPPED is seen: blocked, not vanished.
  EXPECT_THAT(after.out, HasSubstr("blocked (documented, seen DROPPED in this traffic)"));
  EXPECT_THAT(after.out, HasSubstr("  ! business/odoo -> business/postgres:5432/TCP"));
  EXPECT_THAT(after.out, ::testing::Not(HasSubstr("  - business/odoo -> business/postgres")));
  Result after_json =
      Run("audit --baseline before.yaml --capture " + Example("after.jsonl") + " -o json");
  EXPECT_EQ(after_json.status, 1);
  json aj = json::parse(after_json.out);
  EXPECT_FALSE(aj["blocked"].empty());
  for (const auto& c : aj["vanished"]) {
    EXPECT_NE(c["source"].value("workload", "") + ">" + c["destination"].value("workload", ""),
              "odoo>postgres");
  }

  // The audit phase: everything documented still flows; new connections fail the audit
  // even with --ignore-vanished. A dropped reply (postgres:5432 -> odoo, conntrack lost) is
  // not a new connection.
  Result audit = Run("audit --baseline before.yaml --capture " + Example("audit.jsonl") +
                     " --ignore-vanished -o json");
  EXPECT_EQ(audit.status, 1);
  json j = json::parse(audit.out);
  EXPECT_TRUE(j["vanished"].empty());
  std::vector<std::string> sources;
  for (const auto& c : j["new"]) {
    sources.push_back(c["source"].value("workload", "") + ">" +
                      c["destination"].value("workload", ""));
  }
  EXPECT_THAT(sources, ::testing::Contains("odoo>n8n"));
  EXPECT_THAT(sources, ::testing::Not(::testing::Contains("postgres>odoo")));

  // Usage errors: 2. A relay never reached is no traffic: no verdict (not "all vanished").
  Result unreachable =
      Run("audit --baseline before.yaml --relay 127.0.0.1:1 --duration 5s --connect-timeout 1s");
  EXPECT_EQ(unreachable.status, 2) << unreachable.out;
  EXPECT_THAT(unreachable.err, HasSubstr("connection refused"));
  EXPECT_THAT(unreachable.err, HasSubstr("no audit without traffic"));
  EXPECT_THAT(unreachable.out, ::testing::Not(HasSubstr("vanished")));
  std::ofstream(dir_ / "empty.jsonl").close();
  Result empty = Run("audit --baseline before.yaml --capture empty.jsonl");
  EXPECT_EQ(empty.status, 2);
  EXPECT_THAT(empty.err, HasSubstr("no audit without traffic"));
  EXPECT_EQ(Run("audit --baseline before.yaml --relay 127.0.0.1:1").status, 2);
  EXPECT_EQ(Run("audit --baseline before.yaml").status, 2);
  EXPECT_EQ(Run("audit --baseline missing.yaml --capture " + Example("before.jsonl")).status, 2);
}

TEST_F(BaselineCli, LearnRefusesToOverwriteADocumentAndMerges) {
  LearnBefore();
  std::string doc = Slurp(dir_ / "before.yaml");
  Result r = Run("baseline learn --capture " + Example("after.jsonl") + " --out before.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("before.yaml exists and is not a baseline snapshot"));
  EXPECT_EQ(Slurp(dir_ / "before.yaml"), doc);

  ASSERT_EQ(Run("baseline learn --capture " + Example("audit.jsonl") + " --out before.twb --merge")
                .status,
            0);
  // Merged: the documented connections plus the audit phase's new ones.
  Result diff = Run("baseline diff before.yaml before.twb -o json");
  EXPECT_EQ(diff.status, 1);
  json j = json::parse(diff.out);
  EXPECT_TRUE(j["vanished"].empty());
  EXPECT_FALSE(j["new"].empty());
}

// A learn that read nothing, or whose source failed, exits non-zero and leaves the good
// baseline at --out as it was.
TEST_F(BaselineCli, LearnNeverReplacesABaselineWithAWorseOne) {
  ASSERT_EQ(Run("baseline learn --capture " + Example("before.jsonl") + " --out good.twb").status,
            0);
  const std::string good = Slurp(dir_ / "good.twb");
  ASSERT_FALSE(good.empty());

  Result closed =
      Run("baseline learn --relay 127.0.0.1:1 --duration 3s --connect-timeout 1s --out good.twb");
  EXPECT_EQ(closed.status, 2) << closed.out;
  EXPECT_THAT(closed.err, HasSubstr("connection refused"));
  EXPECT_THAT(closed.err, HasSubstr("good.twb left untouched"));
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);

  // --duration shorter than --connect-timeout: the run ends before the client gives up,
  // and the reason is still the refused connection, not "the relay sent nothing".
  Result short_run = Run("baseline learn --relay 127.0.0.1:1 --duration 1s --out good.twb");
  EXPECT_EQ(short_run.status, 2) << short_run.out;
  EXPECT_THAT(short_run.err, HasSubstr("connection refused"));
  EXPECT_THAT(short_run.err, HasSubstr("without connecting"));
  EXPECT_THAT(short_run.err, Not(HasSubstr("sent nothing")));
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);

  std::ofstream(dir_ / "empty.jsonl").close();
  Result empty = Run("baseline learn --capture empty.jsonl --out good.twb");
  EXPECT_EQ(empty.status, 2);
  EXPECT_THAT(empty.err, HasSubstr("read no flows"));
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);

  // A capture saved without -o jsonpb: text lines.
  Result text = Run("observe --capture " + Example("before.jsonl") + " --last 5");
  ASSERT_EQ(text.status, 0);
  std::ofstream(dir_ / "compact.txt") << text.out;
  Result compact = Run("baseline learn --capture compact.txt --out good.twb");
  EXPECT_EQ(compact.status, 2);
  EXPECT_THAT(compact.err, HasSubstr("-o jsonpb"));
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);

  // --merge with nothing read: untouched too.
  EXPECT_EQ(Run("baseline learn --capture empty.jsonl --out good.twb --merge").status, 2);
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);
}

// Ctrl-C before --duration is over: nothing written, exit 130, the old baseline kept.
TEST_F(BaselineCli, LearnInterruptedBeforeItsDurationWritesNothing) {
  ASSERT_EQ(Run("baseline learn --capture " + Example("before.jsonl") + " --out good.twb").status,
            0);
  const std::string good = Slurp(dir_ / "good.twb");
  testing::Process relay({testing::TierwatchBin(), "replay", "--capture", Example("before.jsonl"),
                          "--listen", "127.0.0.1:0"},
                         dir_ / "relay.out", dir_ / "relay.err");
  const std::string addr = relay.AwaitListening();
  ASSERT_FALSE(addr.empty()) << "replay did not say where it listens";

  fs::path err = dir_ / "learn.err";
  pid_t learn = fork();
  ASSERT_GE(learn, 0);
  if (learn == 0) {
    int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    std::string bin = testing::TierwatchBin(), outfile = (dir_ / "good.twb").string();
    execl(bin.c_str(), bin.c_str(), "--log-level", "info", "baseline", "learn", "--relay",
          addr.c_str(), "--since", "2026-11-20T08:00:00Z", "--duration", "10m", "--out",
          outfile.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Bounded wait for the stream to have started (the relay's node status comes first, the
  // backlog right after it), then Ctrl-C.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Slurp(err).find("relay node status") == std::string::npos && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_NE(Slurp(err).find("relay node status"), std::string::npos) << Slurp(err);
  kill(learn, SIGINT);
  int status = 0;
  waitpid(learn, &status, 0);
  relay.Signal(SIGTERM);
  relay.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  // 130 when the backlog had been read (the usual case), 2 when Ctrl-C beat the first flow:
  // either way interrupted, and nothing written.
  EXPECT_TRUE(WEXITSTATUS(status) == 130 || WEXITSTATUS(status) == 2) << Slurp(err);
  if (WEXITSTATUS(status) == 130) {
    EXPECT_THAT(Slurp(err), HasSubstr("interrupted after"));
  }
  EXPECT_THAT(Slurp(err), HasSubstr("interrupted"));
  EXPECT_THAT(Slurp(err), HasSubstr("good.twb left untouched"));
  EXPECT_EQ(Slurp(dir_ / "good.twb"), good);
}

// Learning over gRPC from a real replay relay process.
TEST_F(BaselineCli, LearnFromARelay) {
  LearnBefore();
  testing::Process relay({testing::TierwatchBin(), "replay", "--capture", Example("before.jsonl"),
                          "--listen", "127.0.0.1:0"},
                         dir_ / "relay.out", dir_ / "relay.err");
  const std::string addr = relay.AwaitListening();
  ASSERT_FALSE(addr.empty()) << "replay did not say where it listens";

  // The replay holds the whole capture as backlog: --since before its first flow reads it.
  Result r = Run("baseline learn --relay " + addr +
                 " --since 2026-11-20T08:00:00Z --duration 8s --out relay.twb");
  Result audit = Run("audit --baseline before.yaml --relay " + addr +
                     " --since 2026-11-20T08:00:00Z --duration 8s");
  relay.Signal(SIGTERM);
  relay.Wait();

  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("learned 47 connection(s)"));
  Result diff = Run("baseline diff before.twb relay.twb");
  EXPECT_EQ(diff.status, 0) << diff.out;
  EXPECT_EQ(audit.status, 0) << audit.out << audit.err;
  EXPECT_THAT(Run("baseline export relay.twb").out, HasSubstr("generatedFrom: relay:" + addr));
}

}  // namespace
}  // namespace tw
