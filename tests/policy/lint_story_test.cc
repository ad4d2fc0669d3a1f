// The linter on the story's own templates (verbatim, tests/policy/testdata/story), on the same
// templates renamed and reshuffled, and on the corrected set in deploy/network-policies.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lint_test_util.h"
#include "testing/paths.h"

namespace tw::policy {
namespace {

namespace fs = std::filesystem;
using lint_testing::Dump;
using lint_testing::LineText;
using lint_testing::With;

std::string StoryDir() { return tw::testing::SourceDir() + "/tests/policy/testdata/story"; }
std::string CorrectedDir() { return tw::testing::SourceDir() + "/deploy/network-policies"; }

LintFindings LintDir(const std::string& dir, LoadedPolicies* keep = nullptr) {
  auto r = LoadPolicies({dir});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  if (keep) *keep = *r;
  return Lint(*r);
}

struct Expected {
  std::string rule;
  Severity severity;
  std::string policy;
  std::string file;  // basename
  int line;
  std::string line_contains;  // what the finding points at
};

// The story's faults, each on the policy and rule most responsible (issue 4, "Lint").
TEST(LintStoryTest, StoryTemplatesProduceTheRequiredFindingsAtTheRightLines) {
  LintFindings f = LintDir(StoryDir());
  const std::vector<Expected> required = {
      // `egress: [{}]` described as "full egress".
      {"TW001", Severity::kError, "tier1-observability-egress", "tier1-observability.yaml", 12,
       "- {}"},
      // endpointSelector {} with an ingress section: kube-system into ingress default-deny.
      {"TW002", Severity::kError, "allow-metrics-scraping", "allow-metrics-scraping.yaml", 8,
       "endpointSelector: {}"},
      // toFQDNs without an L7 DNS rule anywhere for cert-manager.
      {"TW003", Severity::kError, "tier1-cert-manager-egress", "tier1-cert-manager.yaml", 12,
       "toFQDNs"},
      // egress to onepassword-connect, which is ingress default-deny and admits nobody.
      {"TW004", Severity::kError, "tier1-external-secrets-egress", "tier1-external-secrets.yaml",
       12, "toEndpoints"},
      // UDP-only DNS, once per policy that has it.
      {"TW005", Severity::kWarning, "tier1-cert-manager-egress", "tier1-cert-manager.yaml", 25,
       "port: \"53\""},
      {"TW005", Severity::kWarning, "tier1-external-secrets-egress", "tier1-external-secrets.yaml",
       26, "port: \"53\""},
      // allow-dns-egress's list lacks cilium-secrets.
      {"TW006", Severity::kWarning, "allow-dns-egress", "allow-dns-egress.yaml", 9,
       "matchExpressions"},
      // cert-manager and external-secrets in egress default-deny without the apiserver.
      {"TW008", Severity::kWarning, "tier1-cert-manager-egress", "tier1-cert-manager.yaml", 12, ""},
      {"TW008", Severity::kWarning, "tier1-external-secrets-egress", "tier1-external-secrets.yaml",
       12, ""},
  };
  for (const Expected& e : required) {
    bool found = false;
    for (const Diagnostic* x : With(f, e.rule, e.policy)) {
      if (fs::path(x->file).filename() != e.file || x->line != e.line) continue;
      if (x->severity != e.severity) continue;
      found = true;
      EXPECT_THAT(LineText(x->file, x->line), ::testing::HasSubstr(e.line_contains))
          << x->ToString();
    }
    EXPECT_TRUE(found) << "missing " << e.rule << " on " << e.policy << " at " << e.file << ":"
                       << e.line << "\n"
                       << Dump(f);
  }
  EXPECT_TRUE(HasErrors(f));
}

// Everything else the story's set gets, so a rule that starts firing (or stops) is noticed.
TEST(LintStoryTest, StoryTemplatesFindingsAreExactlyTheKnownOnes) {
  LintFindings f = LintDir(StoryDir());
  std::multiset<std::tuple<std::string, std::string, std::string>> got;
  for (const auto& x : f) got.insert({x.code, std::string(SeverityName(x.severity)), x.path});
  std::multiset<std::tuple<std::string, std::string, std::string>> want = {
      {"TW001", "error", "tier1-observability-egress"},
      // allow-dns-egress also selects cilium-secrets (Tier 0) and switches egress on.
      {"TW002", "error", "allow-dns-egress"},
      // allow-dns-ingress puts CoreDNS into ingress default-deny.
      {"TW002", "error", "allow-dns-ingress"},
      {"TW002", "error", "allow-metrics-scraping"},
      {"TW003", "error", "tier1-cert-manager-egress"},
      // Observability pods are egress default-deny and reach no metrics port: scraping is
      // one-way from the targets' side too.
      {"TW004", "error", "allow-metrics-scraping"},
      {"TW004", "error", "tier1-external-secrets-egress"},
      {"TW005", "warning", "tier1-cert-manager-egress"},
      {"TW005", "warning", "tier1-external-secrets-egress"},
      {"TW006", "warning", "allow-dns-egress"},
      {"TW007", "warning", "allow-dns-egress"},
      {"TW007", "warning", "allow-metrics-scraping"},
      {"TW007", "warning", "default-deny-all"},
      {"TW008", "warning", "tier1-cert-manager-egress"},
      {"TW008", "warning", "tier1-external-secrets-egress"},
      {"TW010", "warning", "allow-dns-egress"},
      {"TW010", "warning", "allow-dns-ingress"},
      {"TW010", "warning", "allow-metrics-scraping"},
      {"TW010", "warning", "tier1-cert-manager-egress"},
      {"TW010", "warning", "tier1-external-secrets-egress"},
  };
  EXPECT_EQ(got, want) << Dump(f);
}

TEST(LintStoryTest, DefaultDenyAllItselfIsNotAllowNothing) {
  LintFindings f = LintDir(StoryDir());
  EXPECT_TRUE(With(f, "TW001", "default-deny-all").empty()) << Dump(f);
  EXPECT_TRUE(With(f, "TW010", "default-deny-all").empty()) << Dump(f);
}

// --- rename / reorder ------------------------------------------------------------------

struct Doc {
  std::string text;
  std::string original_name;
};

std::vector<Doc> ReadStoryDocs() {
  std::vector<Doc> docs;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(StoryDir()))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const std::regex name_re(R"(^  name: (.+)$)");
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line, cur;
    auto flush = [&] {
      if (cur.find_first_not_of(" \n") == std::string::npos) {
        cur.clear();
        return;
      }
      Doc d;
      d.text = cur;
      std::smatch m;
      std::istringstream ls(cur);
      std::string l;
      while (std::getline(ls, l))
        if (std::regex_match(l, m, name_re)) d.original_name = m[1];
      // Only policies are renamed (ks.yaml's name is a YAML anchor; it is skipped anyway).
      if (cur.find("NetworkPolicy") == std::string::npos) d.original_name.clear();
      docs.push_back(d);
      cur.clear();
    };
    while (std::getline(in, line)) {
      if (line == "---") {
        flush();
        continue;
      }
      cur += line + "\n";
    }
    flush();
  }
  return docs;
}

using Key = std::tuple<std::string, std::string, std::string, std::string>;

std::multiset<Key> Keys(const LintFindings& f, const std::map<std::string, std::string>& rename) {
  std::multiset<Key> out;
  for (const auto& x : f) {
    auto it = rename.find(x.path);
    std::string policy = it == rename.end() ? x.path : it->second;
    std::string text = LineText(x.file, x.line);
    // The metadata line carries the (renamed) name; map it back.
    for (const auto& [from, to] : rename) {
      size_t pos = text.find(from);
      if (pos != std::string::npos) text.replace(pos, from.size(), to);
    }
    out.insert({x.code, std::string(SeverityName(x.severity)), policy, text});
  }
  return out;
}

TEST(LintStoryTest, RenamedAndReshuffledStoryGivesTheSameFindings) {
  const std::multiset<Key> baseline = Keys(LintDir(StoryDir()), {});
  ASSERT_FALSE(baseline.empty());
  const std::vector<Doc> docs = ReadStoryDocs();
  ASSERT_GE(docs.size(), 8u);

  for (unsigned seed : {1u, 7u, 42u, 2026u}) {
    std::mt19937 rng(seed);
    std::vector<Doc> shuffled = docs;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // New names that sort differently from the old ones.
    std::map<std::string, std::string> back;  // new -> original
    int i = 0;
    for (Doc& d : shuffled) {
      if (d.original_name.empty()) continue;
      ++i;
      std::string fresh = "p" + std::to_string((seed * 31 + 97 * i) % 1000) + "-" +
                          std::to_string(shuffled.size() - i);
      d.text =
          std::regex_replace(d.text, std::regex(R"((^|\n)  name: [^\n]+)"), "$1  name: " + fresh);
      back[fresh] = d.original_name;
    }
    fs::path dir = fs::temp_directory_path() /
                   ("tw-lint-shuffle-" + std::to_string(::getpid()) + "-" + std::to_string(seed));
    fs::remove_all(dir);
    fs::create_directories(dir / "nested" / "deeper");
    // Spread the documents over three files in different folders, in shuffled order.
    const char* names[] = {"zz-last.yaml", "nested/aa.yaml", "nested/deeper/mm.yml"};
    std::vector<std::string> contents(3);
    for (size_t k = 0; k < shuffled.size(); ++k) contents[rng() % 3] += "---\n" + shuffled[k].text;
    for (int k = 0; k < 3; ++k) std::ofstream(dir / names[k]) << contents[k];

    LintFindings f = LintDir(dir.string());
    EXPECT_EQ(Keys(f, back), baseline) << "seed " << seed << "\n" << Dump(f);
    fs::remove_all(dir);
  }
}

// --- the corrected set -------------------------------------------------------------------

TEST(LintCorrectedSetTest, NoFindingsAtAll) {
  LoadedPolicies loaded;
  LintFindings f = LintDir(CorrectedDir(), &loaded);
  EXPECT_FALSE(HasErrors(f)) << Dump(f);
  EXPECT_TRUE(f.empty()) << Dump(f);
  EXPECT_EQ(loaded.ErrorCount(), 0);
  // All eight policy files, and every policy parsed.
  EXPECT_GE(loaded.policies.size(), 8u);
  EXPECT_TRUE(loaded.rejected.empty());
}

TEST(LintCorrectedSetTest, OnlyDefaultDenyAllImposesDefaultDeny) {
  LoadedPolicies loaded;
  LintDir(CorrectedDir(), &loaded);
  for (const Policy& p : loaded.policies.policies) {
    for (const Rule& r : p.rules) {
      for (Direction d : {Direction::kIngress, Direction::kEgress}) {
        if (p.name == "default-deny-all") {
          EXPECT_TRUE(r.DefaultDeny(d)) << p.name;
        } else {
          EXPECT_FALSE(r.DefaultDeny(d)) << p.name << " " << DirectionName(d);
          if (r.HasEntries(d)) {
            auto explicit_value = d == Direction::kIngress ? r.enable_default_deny_ingress
                                                           : r.enable_default_deny_egress;
            EXPECT_EQ(explicit_value, false) << p.name << " " << DirectionName(d);
          }
        }
      }
    }
  }
}

TEST(LintCorrectedSetTest, EveryPolicyFileStartsWithAComment) {
  for (const auto& e : fs::recursive_directory_iterator(CorrectedDir())) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first.rfind("# ", 0), 0u) << e.path();
  }
}

}  // namespace
}  // namespace tw::policy
