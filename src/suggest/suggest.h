// Suggested allow rules: for every connection the policy set would drop, the smallest
// CiliumNetworkPolicy additions that allow it, written so that an on-call engineer can
// paste them into Git — stable-label selectors, both directions where each side needs it,
// ports merged, evidence in comments — and proven by simulation (prove.h).
//
// A pure function of its inputs: the connections to allow (a Baseline: keys, statistics and
// workload labels), the policies in force (or none: the tier model's target state, Tier 1
// and Tier 2 in default-deny, is assumed) and the tier model. The CLI feeds it a baseline or
// captures; the daemon can feed it the connections of the drops it classified.
//
//   tw::suggest::SuggestOptions opts;
//   absl::StatusOr<tw::suggest::SuggestionSet> s =
//       tw::suggest::Suggest(connections, existing_policies, tiers, opts);
//   std::vector<tw::suggest::OutputFile> files = tw::suggest::Render(*s);   // render.h
//   tw::suggest::ProofReport proof =
//       tw::suggest::Prove(connections, *s, files, tiers, opts);             // prove.h
//   if (!proof.ok()) ...;                                                    // fail loudly
//
// What is suggested (docs/suggest.md):
//  - Per side that denies: an egress rule in a policy selecting the source, an ingress rule
//    in a policy selecting the destination; nothing for a side that already allows.
//  - Tier 1 and Tier 2 workloads get a namespaced CNP each (<ns>/<workload>/networkpolicy.yaml).
//    A Tier 0 workload or a Cilium reserved endpoint (health, ingress) denying traffic is
//    fixed cluster-wide (cluster-wide/<name>.yaml, a CCNP naming the policies that put it
//    into default-deny). Every suggested policy sets enableDefaultDeny: false.
//  - Selectors: the smallest set of stable labels that selects the workload and no other
//    workload seen in its namespace (selector.h).
//  - Peers: pods by labels (cross-namespace with the namespace label), entities by
//    toEntities/fromEntities, FQDNs by toFQDNs matchName plus the DNS rule that makes FQDN
//    policy work, addresses without a name by a /32 toCIDR marked low-confidence.
//  - A side denied by an explicit deny rule cannot be fixed by an allow; a workload whose
//    labels are unknown cannot be selected: both are reported as unresolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "baseline/baseline.h"
#include "flow/connection.h"
#include "policy/types.h"
#include "tier/tier_model.h"

namespace tw::suggest {

struct SuggestOptions {
  // Only connections seen DROPPED or AUDIT (the on-call case).
  bool only_dropped = false;
  // Collapse two or more names that differ only in their first label (and share ports) into
  // one `*.rest` matchPattern (Cilium's `*` matches one label). Reported as widening.
  bool fqdn_patterns = false;
  // Where the connections came from, for the files' header comment ("capture:a.jsonl").
  std::string source;
  // Evidence comment lines per rule before "... and N more".
  size_t max_evidence_lines = 6;
  // Negative connections tried per rule by the least-privilege proof (per kind).
  size_t max_negative_peers = 4;
  // The lint proof runs when existing + suggested hold at most this many policies: the
  // linter's symbolic model grows with the square of the selectors (made for a repository,
  // not for thousands of policies at once). Closure already proves every suggested allow
  // completes on both sides, which is what the linter's one-way rule checks. 0 = always.
  size_t max_lint_policies = 600;
};

// A label requirement key: value as written in matchLabels.
struct MatchLabel {
  std::string key;
  std::string value;
  friend bool operator==(const MatchLabel& a, const MatchLabel& b) {
    return a.key == b.key && a.value == b.value;
  }
};

// Ports of one protocol, merged: port..end_port (end_port == port: a single port). For
// ICMPv4/ICMPv6 `port` is the ICMP type.
struct PortSpan {
  flow::Protocol protocol = flow::Protocol::kTCP;
  uint16_t port = 0;
  uint16_t end_port = 0;
  bool single() const { return end_port == port; }
  friend bool operator==(const PortSpan& a, const PortSpan& b) {
    return a.protocol == b.protocol && a.port == b.port && a.end_port == b.end_port;
  }
};
// Sorted by protocol, then port; contiguous ports of one protocol become one span.
std::vector<PortSpan> MergePorts(std::vector<std::pair<flow::Protocol, uint16_t>> ports);

// One connection a rule allows, with what was seen of it.
struct Evidence {
  flow::ConnectionKey key;
  uint64_t count = 0;
  absl::Time first_seen;
  absl::Time last_seen;
  std::vector<flow::Symbol> nodes;
  baseline::VerdictSet verdicts = 0;
  // Not seen: a connection the suggestions need for another to work (the DNS lookups
  // toFQDNs depends on), and why. Its ports are declared widenings.
  bool added = false;
  std::string reason;
};

enum class RuleKind : uint8_t {
  kEndpoints,  // pods, by labels
  kEntity,     // toEntities / fromEntities
  kFqdn,       // toFQDNs (matchName, or matchPattern with --fqdn-patterns)
  kCidr,       // toCIDR / fromCIDR, one host prefix
};

// One rule element: one peer (or, for FQDNs, the names sharing these ports) and its ports.
struct SuggestedRule {
  RuleKind kind = RuleKind::kEndpoints;
  flow::Peer peer;                         // the peer as connections name it (sort key)
  std::vector<MatchLabel> selector;        // kEndpoints
  std::string entity;                      // kEntity
  std::vector<std::string> fqdn_names;     // kFqdn: matchName entries
  std::vector<std::string> fqdn_patterns;  // kFqdn: matchPattern entries (widening)
  std::string cidr;                        // kCidr: "203.0.113.7/32"
  std::vector<PortSpan> ports;             // TCP/UDP/SCTP spans, ICMP types
  // The DNS port rule (53) carries `rules: dns: [{matchPattern: "*"}]` so that Cilium's DNS
  // proxy sees the lookups toFQDNs learns from.
  bool dns_rule = false;
  uint16_t dns_port = 53;  // the port whose PortRule carries the DNS rule
  // Why this rule is wider than the connections it came from ("" when it is not): a DNS
  // rule added for toFQDNs, an FQDN pattern, a selector that cannot single out the peer.
  std::string widening;
  // Ports added beyond the connections for a reason (53/TCP next to 53/UDP to the DNS
  // service: DNS retries over TCP), and why. Only these (protocol, port) are declared.
  std::vector<std::pair<flow::Protocol, uint16_t>> extra_ports;
  std::string port_widening;
  std::vector<std::string> notes;  // low confidence, selector fallback, ...
  std::vector<Evidence> evidence;  // sorted by key
};

struct SuggestedPolicy {
  bool clusterwide = false;
  std::string name;        // metadata.name
  std::string namespace_;  // "" for a CCNP
  std::string path;        // relative to the output directory
  flow::Peer subject;      // the workload (or reserved entity) the policy selects
  std::vector<MatchLabel> subject_selector;
  // Policies that put this Tier 0 / reserved endpoint into default-deny (CCNP fixes only).
  std::vector<std::string> caused_by;
  std::string subject_widening;  // the subject selector also selects other workloads
  std::vector<std::string> notes;
  std::vector<SuggestedRule> egress;
  std::vector<SuggestedRule> ingress;
};

// A connection no allow rule can close, and why.
struct Unresolved {
  flow::ConnectionKey key;
  std::string reason;
};

struct SuggestStats {
  uint64_t connections = 0;  // in the input
  uint64_t considered = 0;   // after --only-dropped
  uint64_t already_allowed = 0;
  uint64_t needing_allow = 0;  // denied (or undecided) on at least one side
  uint64_t egress_sides = 0;   // sides given an allow
  uint64_t ingress_sides = 0;
};

struct SuggestionSet {
  // The policies the suggestions are added to: the existing set, or (none given) the
  // assumed target default-deny, parsed from `target_default_deny` below.
  policy::PolicySet base;
  bool assumed_target = false;
  std::string target_default_deny;        // the file text when assumed_target
  std::vector<SuggestedPolicy> policies;  // sorted by path
  std::vector<Unresolved> unresolved;     // sorted by key
  SuggestStats stats;
  std::string source;

  size_t rule_count() const;
};

// The target state's default-deny CCNP (Tier 1 and Tier 2 pods, both directions), as file
// text. `seen_namespaces` adds namespaces that match tier patterns (a selector cannot glob).
std::string TargetDefaultDeny(const tier::TierModel& tiers,
                              const std::vector<std::string>& seen_namespaces);

// `existing` empty = assume the target state. InvalidArgument when the assumed target does
// not parse (a tier model a selector cannot express).
absl::StatusOr<SuggestionSet> Suggest(const baseline::Baseline& connections,
                                      const policy::PolicySet& existing,
                                      const tier::TierModel& tiers, const SuggestOptions& options);

// Whether the connection is one `only_dropped` keeps.
inline bool SeenDropped(baseline::VerdictSet v) {
  return (v & (baseline::VerdictBit(flow::Verdict::kDropped) |
               baseline::VerdictBit(flow::Verdict::kAudit))) != 0;
}

}  // namespace tw::suggest
