// The operator-facing docs name real commands: every `tierwatch <subcommand>` (and
// `tierwatch policy|baseline <subcommand>`) written in a code span or block of the README,
// the runbooks, operations.md, deploy.md and the connectivity example exists in the binary's
// --help; and operations.md documents every key of the documented example config.
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "deploy_helpers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::deploy_test {
namespace {

// Commands that other branches are still adding: allowed to be missing from the binary,
// and only while they are. Empty now that `suggest` has landed.
const std::set<std::string> kPending = {};

// The names listed under "Subcommands:" in `tierwatch [GROUP] --help`.
std::set<std::string> Subcommands(const std::string& group) {
  ShellResult r = RunShell(Tw() + " " + group + " --help 2>&1");
  std::set<std::string> out;
  bool in = false;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    if (absl::StartsWith(line, "Subcommands:")) {
      in = true;
      continue;
    }
    if (!in) continue;
    // "  observe                     Print flows ..." — a name at two spaces of indent.
    if (line.size() > 2 && line.substr(0, 2) == "  " && line[2] != ' ') {
      std::string name(line.substr(2, line.find(' ', 2) - 2));
      out.insert(name);
    }
  }
  return out;
}

// The code of a markdown file: fenced blocks and inline code spans, with shell comments cut.
std::vector<std::string> CodeOf(const std::string& text) {
  std::vector<std::string> code;
  bool fenced = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "```")) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      std::string l(line);
      size_t hash = l.find(" #");
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(l), "#")) continue;
      if (hash != std::string::npos) l = l.substr(0, hash);
      code.push_back(l);
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(line, '`');
    for (size_t i = 1; i < parts.size(); i += 2) code.push_back(parts[i]);
  }
  return code;
}

std::vector<std::string> OperatorDocs() {
  std::vector<std::string> docs = {"README.md", "docs/runbooks/cilium.md", "docs/operations.md",
                                   "docs/deploy.md", "examples/connectivity-test/README.md"};
  for (const auto& e : fs::directory_iterator(Src("docs/runbooks"))) {
    std::string rel = "docs/runbooks/" + e.path().filename().string();
    if (e.path().extension() == ".md" && rel != "docs/runbooks/cilium.md") docs.push_back(rel);
  }
  return docs;
}

TEST(DocsCommandsTest, EveryTierwatchCommandInTheDocsExists) {
  std::set<std::string> top = Subcommands("");
  ASSERT_TRUE(top.count("run") && top.count("drops")) << "could not read tierwatch --help";
  std::map<std::string, std::set<std::string>> groups;
  for (const char* g : {"policy", "baseline"}) groups[g] = Subcommands(g);
  // `tierwatch X` or `$tw X` where tierwatch is in command position (the start of the code
  // or line, after a `$ ` prompt, `(`, `|`, `;` or `&&`), X a lowercase word. Prose quoted in
  // code ("this tierwatch reads ...") is not a command.
  std::regex cmd(
      R"((?:^\s*|[(|;&]\s*|\$\s+)(?:tierwatch|\$tw)\s+([a-z][a-z-]*)(?:\s+([a-z][a-z-]*))?)");
  int checked = 0;
  for (const auto& doc : OperatorDocs()) {
    for (const auto& code : CodeOf(ReadText(Src(doc)))) {
      for (std::sregex_iterator it(code.begin(), code.end(), cmd), end; it != end; ++it) {
        std::string sub = (*it)[1];
        ++checked;
        if (!top.count(sub)) {
          EXPECT_TRUE(kPending.count(sub))
              << doc << ": `" << it->str() << "`: tierwatch has no subcommand " << sub;
          continue;
        }
        auto g = groups.find(sub);
        std::string second = (*it)[2];
        if (g != groups.end() && !second.empty()) {
          EXPECT_TRUE(g->second.count(second))
              << doc << ": `" << it->str() << "`: tierwatch " << sub << " has no " << second;
        }
      }
    }
  }
  EXPECT_GT(checked, 40) << "the docs name fewer commands than expected: is the scan broken?";
  // The pending list must not outlive the commands' arrival.
  for (const auto& p : kPending) EXPECT_FALSE(top.count(p)) << p << " exists now: unlist it";
}

TEST(DocsCommandsTest, RunbookCoversWhatOnCallNeeds) {
  std::string rb = ReadText(Src("docs/runbooks/cilium.md"));
  for (const char* must :
       {"tierwatch drops", "tierwatch explain", "tierwatch suggest", "tierwatch simulate",
        "tierwatch policy lint", "hubble observe --verdict DROPPED", "kubectl get ccnp",
        "policy.cilium.io/enforce=false", "policy.cilium.io/enforce-", "PolicyAuditMode",
        "flux suspend kustomization network-policies", "kubectl delete ccnp",
        "TierwatchStaleBypass.md", "cilium connectivity test", "cilium-test-ccnp2"}) {
    EXPECT_THAT(rb, ::testing::HasSubstr(must));
  }
}

// Every key of the documented example appears in operations.md's reference, written `key`.
void CollectKeys(const YAML::Node& n, const std::string& prefix, std::vector<std::string>* out) {
  for (const auto& kv : n) {
    std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap() && kv.second.size() > 0) {
      CollectKeys(kv.second, key, out);
    } else {
      out->push_back(key);
    }
  }
}

TEST(DocsCommandsTest, OperationsDocumentsEveryConfigKey) {
  std::vector<std::string> keys;
  CollectKeys(YAML::LoadFile(Src("config/tierwatch.example.yaml")), "", &keys);
  ASSERT_GT(keys.size(), 20u);
  std::string ops = ReadText(Src("docs/operations.md"));
  for (const auto& k : keys) EXPECT_THAT(ops, ::testing::HasSubstr("`" + k + "`")) << k;
}

}  // namespace
}  // namespace tw::deploy_test
