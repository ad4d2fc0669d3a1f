// The bad-input catalogue (docs/operations.md, "Bad input"): one row per kind of bad input,
// run through the real binary. Each must give a clear error naming FILE:LINE (or the file
// and the fix), exit with the documented status, never crash (no signal, no sanitizer
// report) and leave an existing baseline byte for byte.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "faults/fault_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "testing/paths.h"

namespace tw::faults {
namespace {

using ::testing::HasSubstr;
using tw::testing::Process;

// One forwarded SYN a -> b:80 (uuid `uuid`).
std::string GoodLine(const std::string& uuid = "u1") {
  return absl::StrCat(
      R"({"flow":{"time":"2021-11-10T10:41:26.095357Z","uuid":")", uuid,
      R"(","verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2",)",
      R"("ipVersion":"IPv4"},"l4":{"TCP":{"source_port":40000,"destination_port":80,)",
      R"("flags":{"SYN":true}}},"source":{"namespace":"a","labels":["k8s:app=x"]},)",
      R"("destination":{"namespace":"b","labels":["k8s:app=y"]},"Type":"L3_L4",)",
      R"("traffic_direction":"EGRESS"},"node_name":"n1","time":"2021-11-10T10:41:26.095357Z"})");
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  return absl::StrReplaceAll(s, {{from, to}});
}

constexpr char kPolicy[] = R"(apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
  - fromEndpoints:
    - matchLabels:
        app: frontend
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
)";

// 8 levels of aliases, 10 each: 10^9 nodes if expanded.
std::string AliasBomb(const std::string& indent) {
  std::string b = indent + "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n";
  for (int i = 1; i <= 8; ++i) {
    std::string refs;
    for (int j = 0; j < 10; ++j) absl::StrAppend(&refs, j ? "," : "", "*a", i - 1);
    absl::StrAppend(&b, indent, "a", i, ": &a", i, " [", refs, "]\n");
  }
  return b;
}

// As a file's content: the good baseline's first half (a snapshot cut short).
constexpr char kTruncatedBaseline[] = "@truncated-baseline";

struct Row {
  std::string name;                          // as in docs/operations.md
  std::map<std::string, std::string> files;  // written into the scratch directory
  std::vector<std::string> args;             // after the binary; {dir} is replaced
  int exit_status;
  // In stdout or stderr (lint findings are the command's output; errors go to stderr);
  // {dir} is replaced.
  std::vector<std::string> output_has;
};

std::vector<Row> Catalogue() {
  const std::string g = GoodLine();
  const std::string g2 = GoodLine("u2");
  std::vector<Row> rows;
  auto capture_row = [&](std::string name, std::string bad_line, std::string message) {
    rows.push_back({std::move(name),
                    {{"c.jsonl", g + "\n" + bad_line + "\n"}},
                    {"analyze", "--capture", "{dir}/c.jsonl", "-o", "json"},
                    0,
                    {"c.jsonl:2: " + message}});
  };
  capture_row("truncated jsonpb line", R"({"flow":{"time":"2021-11-10T10:41:26Z","verdict":"FORW)",
              "malformed JSON");
  capture_row("wrong type", Replace(g2, R"("verdict":"FORWARDED")", R"("verdict":5.5)"),
              "field flow.verdict: expected a 32-bit integer, got 5.5");
  capture_row("unknown enum value", Replace(g2, R"("verdict":"FORWARDED")", R"("verdict":"BOGUS")"),
              "field flow.verdict: unknown Verdict value \"BOGUS\"");
  capture_row("port above 65535",
              Replace(g2, R"("destination_port":80)", R"("destination_port":65616)"),
              "field flow.l4.TCP.destination_port: expected 0-65535, got 65616 (out of range)");
  capture_row("invalid UTF-8", Replace(g2, "k8s:app=x", "k8s:app=\xff"),
              "malformed JSON: The input is not valid UTF-8");
  rows.push_back(
      {"1 MB label value",
       {{"c.jsonl",
         g + "\n" + Replace(g2, "k8s:app=x", "k8s:app=" + std::string(1 << 20, 'v')) + "\n"}},
       {"observe", "--capture", "{dir}/c.jsonl", "-o", "json"},
       0,
       {std::string(1 << 20, 'v')}});
  rows.push_back(
      {"capture in hubble's text form (no -o jsonpb)",
       {{"c.txt",
         "Nov 10 10:41:26.095: a/x:40000 -> b/y:80 to-endpoint FORWARDED (TCP Flags: SYN)\n"}},
       {"baseline", "learn", "--capture", "{dir}/c.txt", "--out", "{dir}/baseline.twb"},
       2,
       {"c.txt:1: not a JSON object", "capture with `hubble observe -o jsonpb`",
        "{dir}/baseline.twb left untouched"}});
  rows.push_back(
      {"empty capture",
       {{"c.jsonl", ""}},
       {"baseline", "learn", "--capture", "{dir}/c.jsonl", "--out", "{dir}/baseline.twb"},
       2,
       {"the capture is empty", "{dir}/baseline.twb left untouched"}});
  rows.push_back({"corrupt baseline snapshot",
                  {{"bad.twb", kTruncatedBaseline}, {"c.jsonl", g + "\n"}},
                  {"analyze", "--capture", "{dir}/c.jsonl", "--baseline", "{dir}/bad.twb"},
                  2,
                  {"{dir}/bad.twb: truncated baseline snapshot"}});
  rows.push_back({"policy: duplicate key",
                  {{"p.yaml", Replace(kPolicy, "  name: web\n", "  name: web\n  name: web2\n")}},
                  {"policy", "lint", "--policies", "{dir}/p.yaml"},
                  1,
                  {"p.yaml:5: error: [TW009 schema] shop/web: metadata.name: duplicate key (first "
                   "given at line 4)"}});
  rows.push_back({"policy: endPort above 65535",
                  {{"p.yaml", Replace(kPolicy, "      - port: \"8080\"\n",
                                      "      - port: \"8080\"\n        endPort: 70000\n")}},
                  {"policy", "lint", "--policies", "{dir}/p.yaml"},
                  1,
                  {"p.yaml:17: error: [TW009 schema]",
                   "endPort: expected an integer from 0 to 65535, got \"70000\""}});
  rows.push_back({"policy: YAML alias bomb",
                  {{"p.yaml", Replace(kPolicy, "spec:\n", "spec:\n" + AliasBomb("  "))}},
                  {"policy", "lint", "--policies", "{dir}/p.yaml"},
                  1,
                  {"p.yaml:", "the document expands to more than 100000 YAML nodes"}});
  rows.push_back({"policy: 100,000 nested lists",
                  {{"p.yaml", std::string(kPolicy) + "  x: " + std::string(100000, '[') +
                                  std::string(100000, ']') + "\n"}},
                  {"policy", "lint", "--policies", "{dir}/p.yaml"},
                  1,
                  {"p.yaml:18: error: [TW009 schema] YAML syntax error: nested too deeply"}});
  rows.push_back({"policy: Latin-1 bytes, -o json",
                  {{"p.yaml", Replace(kPolicy, "app: frontend", "app: caf\xe9")}},
                  {"policy", "lint", "--policies", "{dir}/p.yaml", "-o", "json"},
                  0,
                  {"["}});
  rows.push_back({"tiers.yaml: duplicate key",
                  {{"tiers.yaml", "tiers:\n  - level: 0\n    name: system\ntiers: []\n"},
                   {"c.jsonl", g + "\n"}},
                  {"analyze", "--capture", "{dir}/c.jsonl", "--tiers", "{dir}/tiers.yaml"},
                  2,
                  {"tiers.yaml:4:1: error: tiers: duplicate key (first given at line 1)"}});
  rows.push_back({"daemon config: YAML alias bomb",
                  {{"tw.yaml", "mode: watch\nrelay:\n  address: 127.0.0.1:4245\n  filters:\n" +
                                   AliasBomb("    ")}},
                  {"run", "--config", "{dir}/tw.yaml", "--check"},
                  2,
                  {"tw.yaml:", "expands to more than 100000 YAML nodes"}});
  return rows;
}

TEST(BadInputCatalogue, EveryRowGivesItsErrorAndExitAndKeepsTheBaseline) {
  const fs::path dir = ScratchDir("badinput");
  for (const Row& row : Catalogue()) {
    SCOPED_TRACE(row.name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    // A good baseline that no row may change.
    { std::ofstream(dir / "good.jsonl") << GoodLine() << "\n"; }
    Process learn({tw::testing::TierwatchBin(), "baseline", "learn", "--capture",
                   (dir / "good.jsonl").string(), "--out", (dir / "baseline.twb").string()},
                  dir / "learn.out", dir / "learn.err");
    ASSERT_EQ(learn.Wait(), 0) << learn.err();
    const std::string baseline = Slurp(dir / "baseline.twb");
    for (const auto& [name, text] : row.files) {
      std::ofstream(dir / name, std::ios::binary)
          << (text == kTruncatedBaseline ? baseline.substr(0, baseline.size() / 2) : text);
    }

    std::vector<std::string> args = {tw::testing::TierwatchBin()};
    for (const std::string& a : row.args) args.push_back(Replace(a, "{dir}", dir.string()));
    Process p(args, dir / "out", dir / "err");
    const int rc = p.Wait();
    const std::string err = p.err();
    EXPECT_EQ(rc, row.exit_status) << err;
    const std::string output = p.out() + err;
    for (const std::string& want : row.output_has) {
      EXPECT_THAT(output, HasSubstr(Replace(want, "{dir}", dir.string())));
    }
    EXPECT_THAT(err, ::testing::Not(HasSubstr("Sanitizer")));
    EXPECT_EQ(Slurp(dir / "baseline.twb"), baseline) << "the baseline changed";
    const std::string shown =
        Replace(output.substr(0, std::min(output.find('\n'), size_t{200})), dir.string() + "/", "");
    std::printf("bad-input row=\"%s\" exit=%d first_line=\"%s\"\n", row.name.c_str(), rc,
                shown.c_str());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tw::faults
