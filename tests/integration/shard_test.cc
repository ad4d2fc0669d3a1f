// Sharding by node, for real: one replay relay serving the example's after phase (three
// nodes, lost events on several of them), two `tierwatch run --shard i/2` daemons watching
// against one read-only documented baseline. Every flow, lost event and node status is
// counted exactly once across the shards (their /metrics sum to the capture), the drops sum
// to what `tierwatch analyze` counts, every series carries its shard, and the shared
// baseline is never written. Learning sharded and merging gives the baseline one daemon
// learns.
#include <signal.h>

#include <map>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "api/http.h"
#include "deploy_helpers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process.h"

namespace tw::deploy_test {
namespace {

using tw::testing::Process;

std::string Example(const std::string& f) { return Src("examples/zero-trust-rollout/" + f); }

// Sums of the samples of each metric name in a Prometheus text scrape (labels ignored), and
// whether every sample carried `shard="<index>"`.
struct Scrape {
  std::map<std::string, double> sums;
  bool every_series_has_shard = true;
  int samples = 0;
};

Scrape Parse(const std::string& text, int shard) {
  Scrape s;
  std::string want = absl::StrCat("shard=\"", shard, "\"");
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    std::string name(line.substr(0, name_end));
    double v = 0;
    if (!absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) continue;
    s.sums[name] += v;
    ++s.samples;
    if (!absl::StrContains(line, want)) s.every_series_has_shard = false;
  }
  return s;
}

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>("shard"); }

  std::string StartRelay(const std::string& capture) {
    relay_ = std::make_unique<Process>(
        std::vector<std::string>{Tw(), "replay", "--capture", capture, "--listen", "127.0.0.1:0"},
        *dir_ / "relay.out", *dir_ / "relay.err");
    EXPECT_TRUE(relay_->AwaitOut("listening on ")) << relay_->err();
    std::string out = relay_->out();
    std::string addr = out.substr(out.find("listening on ") + 13);
    return addr.substr(0, addr.find_first_of(" \n"));
  }

  // Starts shard i of 2; returns its HTTP address ("" on failure).
  std::string StartShard(int i, const std::string& yaml) {
    std::string cfg = (*dir_ / absl::StrCat("shard", i, ".yaml")).string();
    WriteFile(cfg, yaml);
    shards_[i] = std::make_unique<Process>(
        std::vector<std::string>{Tw(), "run", "--config", cfg, "--shard", absl::StrCat(i, "/2"),
                                 "-o", "json"},
        *dir_ / absl::StrCat("shard", i, ".out"), *dir_ / absl::StrCat("shard", i, ".err"));
    if (!shards_[i]->AwaitErr("http listening addr=")) return "";
    std::string err = shards_[i]->err();
    size_t pos = err.find("http listening addr=") + 20;
    return err.substr(pos, err.find(' ', pos) - pos);
  }

  static Scrape Metrics(const std::string& http, int shard) {
    auto r = api::HttpGet("http://" + http, "/metrics");
    return r.ok() ? Parse(r->body, shard) : Scrape{};
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Process> relay_;
  std::unique_ptr<Process> shards_[2];
};

// What the capture holds: flows, lost events (sum of num_events_lost), node names.
struct CaptureTotals {
  double flows = 0, lost = 0;
  std::set<std::string> nodes;
};
CaptureTotals Count(const std::string& capture) {
  CaptureTotals t;
  for (absl::string_view line : absl::StrSplit(ReadText(capture), '\n', absl::SkipEmpty())) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("flow")) {
      ++t.flows;
      t.nodes.insert(j["flow"]["node_name"].get<std::string>());
    } else if (j.contains("lost_events")) {
      double n = 0;
      EXPECT_TRUE(absl::SimpleAtod(j["lost_events"]["num_events_lost"].get<std::string>(), &n))
          << line;
      t.lost += n;
    }
  }
  return t;
}

TEST_F(ShardTest, TwoShardsCountEveryFlowExactlyOnce) {
  // The shared baseline: learned from the before phase, exported, read-only.
  std::string twb = (*dir_ / "before.twb").string();
  std::string doc = (*dir_ / "baseline.yaml").string();
  ASSERT_EQ(RunShell(Tw() + " baseline learn --capture " + Example("before.jsonl") + " --out " +
                     twb + " >/dev/null")
                .status,
            0);
  ASSERT_EQ(RunShell(Tw() + " baseline export " + twb + " --out " + doc + " 2>/dev/null").status,
            0);
  fs::permissions(doc, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string doc_before = ReadText(doc);

  const std::string capture = Example("after.jsonl");
  CaptureTotals want = Count(capture);
  ASSERT_GE(want.nodes.size(), 3u);
  ASSERT_GT(want.lost, 0);
  std::string relay = StartRelay(capture);
  ASSERT_FALSE(relay.empty());
  std::string yaml = absl::StrCat("relay: {address: \"", relay,
                                  "\", backlog: all}\nmode: watch\nbaseline: {path: ", doc,
                                  "}\nhttp: {listen: \"127.0.0.1:0\"}\nlog: {level: info}\n");
  std::string http[2];
  for (int i = 0; i < 2; ++i) {
    http[i] = StartShard(i, yaml);
    ASSERT_FALSE(http[i].empty()) << shards_[i]->err();
  }

  // Bounded wait until both together have read the whole capture.
  Scrape s[2];
  auto total = [&](const std::string& name) { return s[0].sums[name] + s[1].sums[name]; };
  bool complete = Process::Await([&] {
    for (int i = 0; i < 2; ++i) s[i] = Metrics(http[i], i);
    return total("tierwatch_flows_total") >= want.flows &&
           total("tierwatch_relay_lost_events_total") >= want.lost;
  });
  ASSERT_TRUE(complete) << "flows " << total("tierwatch_flows_total") << " of " << want.flows
                        << "\n"
                        << shards_[0]->err() << shards_[1]->err();

  // Each shard read its own part, and together exactly the capture.
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(s[i].sums["tierwatch_flows_total"], 0) << "shard " << i << " read nothing";
    EXPECT_LT(s[i].sums["tierwatch_flows_total"], want.flows) << "shard " << i << " read all";
    EXPECT_TRUE(s[i].every_series_has_shard) << "shard " << i;
    EXPECT_EQ(s[i].sums["tierwatch_shard_count"], 2);
  }
  EXPECT_EQ(total("tierwatch_shard_nodes"), static_cast<double>(want.nodes.size()));

  // Shut down; the final reports are the totals (nothing more arrives: the replay served
  // the whole capture as its backlog).
  nlohmann::json report[2];
  for (int i = 0; i < 2; ++i) {
    shards_[i]->Signal(SIGTERM);
    ASSERT_EQ(shards_[i]->Wait(), 0) << shards_[i]->err();
    report[i] = nlohmann::json::parse(shards_[i]->out());
  }
  EXPECT_EQ(total("tierwatch_flows_total"), want.flows);
  EXPECT_EQ(total("tierwatch_relay_lost_events_total"), want.lost);
  EXPECT_EQ(total("tierwatch_node_status_events_total"), 1) << "the relay's node status, once";
  // And at exit, when nothing more can arrive.
  auto summed = [&](const char* key) {
    return report[0]["summary"][key].get<double>() + report[1]["summary"][key].get<double>();
  };
  EXPECT_EQ(summed("flows"), want.flows);
  EXPECT_EQ(summed("node_status_events"), 1);

  // The drops, classified against the shared baseline, sum to what analyze counts (one
  // JSON line per counted drop): a drop and its policy-verdict twin are seen on the same
  // node, so one shard folds them as one daemon would.
  ShellResult analyze = RunShell(Tw() + " analyze " + capture + " --baseline " + doc + " -o json");
  ASSERT_EQ(analyze.status, 0);
  double analyzed = 0;
  for (absl::string_view line : absl::StrSplit(analyze.out, '\n', absl::SkipEmpty())) {
    if (line[0] == '{') ++analyzed;
  }
  EXPECT_GT(analyzed, 0);
  EXPECT_EQ(total("tierwatch_drops_total"), analyzed);

  // The shared baseline was read, never written.
  EXPECT_EQ(ReadText(doc), doc_before);
  EXPECT_FALSE(fs::exists(doc + ".learning"));
  EXPECT_FALSE(fs::exists(doc + ".tmp"));
}

TEST_F(ShardTest, ShardsLearnTheirNodesAndTheMergeIsTheWholeBaseline) {
  const std::string capture = Example("before.jsonl");
  std::string relay = StartRelay(capture);
  ASSERT_FALSE(relay.empty());
  CaptureTotals want = Count(capture);
  std::string http[2];
  for (int i = 0; i < 2; ++i) {
    std::string yaml = absl::StrCat("relay: {address: \"", relay,
                                    "\", backlog: all}\nmode: learn\nbaseline: {path: ",
                                    (*dir_ / absl::StrCat("shard", i, ".twb")).string(),
                                    "}\nhttp: {listen: \"127.0.0.1:0\"}\nlog: {level: info}\n");
    http[i] = StartShard(i, yaml);
    ASSERT_FALSE(http[i].empty()) << shards_[i]->err();
  }
  ASSERT_TRUE(Process::Await([&] {
    return Metrics(http[0], 0).sums["tierwatch_flows_total"] +
               Metrics(http[1], 1).sums["tierwatch_flows_total"] >=
           want.flows;
  }));
  for (int i = 0; i < 2; ++i) {
    shards_[i]->Signal(SIGTERM);
    ASSERT_EQ(shards_[i]->Wait(), 0) << shards_[i]->err();
  }
  std::string merged = (*dir_ / "merged.yaml").string();
  ShellResult merge = RunShell(Tw() + " baseline merge " + (*dir_ / "shard0.twb").string() + " " +
                               (*dir_ / "shard1.twb").string() + " --out " + merged);
  ASSERT_EQ(merge.status, 0) << merge.out;
  std::string whole = (*dir_ / "whole.twb").string();
  ASSERT_EQ(
      RunShell(Tw() + " baseline learn --capture " + capture + " --out " + whole + " >/dev/null")
          .status,
      0);
  ShellResult diff = RunShell(Tw() + " baseline diff " + whole + " " + merged);
  EXPECT_EQ(diff.status, 0) << diff.out;
}

TEST_F(ShardTest, BadShardSpecsAreUsageErrors) {
  for (const char* spec : {"2/2", "1", "a/2", "0/0", "ordinal/2"}) {
    ShellResult r = RunShell(Tw() + " run --config " + Src("deploy/tierwatch/tierwatch.yaml") +
                             " --shard " + spec + " 2>&1");
    // ordinal/2 depends on the host name: a test machine's rarely ends in -<n>.
    if (std::string(spec) == "ordinal/2" && !absl::StrContains(r.out, "does not end")) continue;
    EXPECT_EQ(r.status, 2) << spec << ": " << r.out;
    EXPECT_THAT(r.out, ::testing::HasSubstr("--shard")) << spec;
  }
  ShellResult both = RunShell(Tw() + " run --config " + Src("deploy/tierwatch/tierwatch.yaml") +
                              " --shard 0/2 --capture " + Example("before.jsonl") + " 2>&1");
  EXPECT_EQ(both.status, 2) << both.out;
}

// The shared baseline is read, never written: learning into it is refused at start.
TEST_F(ShardTest, LearningIntoADocumentedBaselineIsRefused) {
  std::string cfg = (*dir_ / "learn.yaml").string();
  WriteFile(cfg, absl::StrCat("relay: {address: \"127.0.0.1:1\"}\nmode: learn\nbaseline: {path: ",
                              Src("deploy/tierwatch-sharded/baseline.yaml"),
                              "}\nhttp: {listen: \"\"}\n"));
  ShellResult r =
      RunShell(Tw() + " run --config " + cfg + " --capture " + Example("before.jsonl") + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_THAT(r.out, ::testing::HasSubstr("is a documented baseline"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("mode: watch"));
}

}  // namespace
}  // namespace tw::deploy_test
