// Helpers for the suggest tests: baselines built by hand (workloads with labels, connections
// of every peer kind), policies from inline YAML, and running Suggest + Render + Prove.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baseline/baseline.h"
#include "flow/connection.h"
#include "flow/json.h"
#include "gtest/gtest.h"
#include "policy/parser.h"
#include "suggest/prove.h"
#include "suggest/render.h"
#include "suggest/suggest.h"
#include "testing/paths.h"
#include "tier/tier_model.h"

namespace tw::suggest::testutil {

inline const absl::Time kT0 = absl::FromUnixSeconds(1'795'000'000);

// A baseline under construction.
class Builder {
 public:
  explicit Builder(flow::SymbolTable& s) : s_(s), b_(s) { b_.set_source("test"); }

  // A workload with the labels a pod of it carries (pod labels without source; the
  // namespace, namespace-name, cluster and service-account labels are added).
  flow::Peer Workload(absl::string_view ns, absl::string_view name,
                      std::vector<std::string> pod_labels, absl::string_view sa = "") {
    flow::Peer p = flow::Peer::Workload(s_.Intern(ns), s_.Intern(name));
    std::vector<flow::Symbol> labels;
    for (const std::string& l : pod_labels) labels.push_back(s_.Intern(absl::StrCat("k8s:", l)));
    labels.push_back(s_.Intern(absl::StrCat("k8s:io.kubernetes.pod.namespace=", ns)));
    labels.push_back(s_.Intern(
        absl::StrCat("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=", ns)));
    labels.push_back(s_.Intern("k8s:io.cilium.k8s.policy.cluster=test"));
    labels.push_back(s_.Intern(
        absl::StrCat("k8s:io.cilium.k8s.policy.serviceaccount=", sa.empty() ? name : sa)));
    b_.SetLabels(p, labels);
    return p;
  }
  flow::Peer Entity(absl::string_view e) { return flow::Peer::Entity(s_.Intern(e)); }
  flow::Peer Fqdn(absl::string_view n) { return flow::Peer::Fqdn(s_.Intern(n)); }
  flow::Peer Ip(absl::string_view ip) { return flow::Peer::Ip(s_.Intern(ip)); }

  flow::ConnectionKey Conn(const flow::Peer& src, const flow::Peer& dst, uint16_t port,
                           flow::Protocol proto = flow::Protocol::kTCP, uint64_t count = 3,
                           flow::Verdict verdict = flow::Verdict::kForwarded) {
    flow::ConnectionKey k{src, dst, proto, port};
    baseline::ConnectionStats st;
    st.first_seen = kT0 + absl::Seconds(b_.size());
    st.last_seen = st.first_seen + absl::Minutes(5);
    st.count = count;
    st.nodes = {s_.Intern("node-a")};
    st.verdicts = baseline::VerdictBit(verdict);
    b_.Insert(k, st);
    return k;
  }

  baseline::Baseline& baseline() { return b_; }

 private:
  flow::SymbolTable& s_;
  baseline::Baseline b_;
};

inline policy::PolicySet Policies(absl::string_view yaml) {
  policy::LoadedPolicies r = policy::ParsePolicyText(yaml, "existing.yaml");
  for (const auto& d : r.diagnostics) {
    if (d.severity == tw::Severity::kError) ADD_FAILURE() << d.ToString();
  }
  return r.policies;
}

inline policy::PolicySet LoadDir(const std::vector<std::string>& paths) {
  auto r = policy::LoadPolicies(paths);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  for (const auto& d : r->diagnostics) {
    if (d.severity == tw::Severity::kError) ADD_FAILURE() << d.ToString();
  }
  return r->policies;
}

// Suggest, render and prove in one go.
struct Run {
  SuggestionSet set;
  std::vector<OutputFile> files;
  ProofReport proof;

  const OutputFile* File(absl::string_view path) const {
    for (const OutputFile& f : files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }
  std::string Text(absl::string_view path) const {
    const OutputFile* f = File(path);
    return f ? f->content : std::string();
  }
  const SuggestedPolicy* Policy(absl::string_view path) const {
    for (const SuggestedPolicy& p : set.policies) {
      if (p.path == path) return &p;
    }
    return nullptr;
  }
};

inline std::unique_ptr<Run> SuggestAndProve(const baseline::Baseline& b,
                                            const policy::PolicySet& existing,
                                            const tier::TierModel& tiers,
                                            const SuggestOptions& options = {}) {
  auto set = Suggest(b, existing, tiers, options);
  EXPECT_TRUE(set.ok()) << set.status();
  if (!set.ok()) return nullptr;
  auto run = std::make_unique<Run>();
  run->set = *std::move(set);
  run->files = Render(run->set);
  run->proof = Prove(b, run->set, run->files, tiers, options);
  return run;
}

// Learns a capture into `b` the way `tierwatch suggest --capture` does (what worked, and
// what policy dropped).
inline void LearnCapture(const std::string& path, baseline::Baseline& b) {
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  flow::JsonDecoder decoder(b.symbols());
  flow::DnsNameCache dns(b.symbols());
  baseline::LearnOptions lo;
  lo.verdicts |= baseline::VerdictBit(flow::Verdict::kDropped);
  baseline::Learner learner(b, &dns, lo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto ev = decoder.Decode(line);
    ASSERT_TRUE(ev.ok()) << path << ": " << ev.status();
    learner.Observe(*ev);
  }
}

inline std::string Example(const std::string& file) {
  return tw::testing::SourceDir() + "/examples/zero-trust-rollout/" + file;
}

}  // namespace tw::suggest::testutil
