// Would Cilium allow this connection? The egress verdict at the source, the ingress verdict
// at the destination, and which policies (and which of their rules) decided each.
//
//   tw::policy::Evaluator eval(load_result.policies);   // the set must outlive `eval`
//   tw::policy::Evaluation v = tw::policy::EvaluateFlow(eval, flow);
//   if (v.decision == tw::policy::Decision::kDenied) {
//     // v.drop_reason is 181 (POLICY_DENY, a deny rule) or 133 (POLICY_DENIED, no allow)
//     for (const auto& ref : v.ingress.default_deny_by) std::cout << ref.Path() << "\n";
//   }
//
// Semantics (docs/policy-engine.md, from Cilium's pkg/policy; cilium-policy.md §2/§4/§7):
//  - Only the original direction is judged: src egress AND dst ingress must allow. Replies
//    (is_reply == true) are UNDECIDED "reply: policy is not applied to replies".
//  - Per side: the rules whose subject selects the endpoint (CCNPs, and CNPs/KNPs of the
//    endpoint's namespace). No rule with entries for the direction -> not enforced,
//    allowed. A matching deny entry -> DENIED (181). Else a matching allow entry -> ALLOWED.
//    Else ingress from reserved:host when ingress is default-deny -> ALLOWED
//    (allow-localhost=always). Else if any selecting rule is default-deny -> DENIED (133);
//    otherwise (every selecting rule has enableDefaultDeny: false) -> ALLOWED.
//  - Subjects are pods, the health and ingress endpoints and init identities. The host,
//    remote nodes, world, kube-apiserver and unmanaged peers are never subjects (no host
//    firewall), so their side is not enforced. reserved:init is default-deny both ways.
//  - What cannot be decided offline makes the side UNDECIDED when it matters: named ports,
//    toServices whose backend membership is unknown, CIDR groups, toGroups, a missing IP for
//    a CIDR rule. A side that is DENIED anyway stays DENIED.
//  - L7 rules are not enforced: an allow element with L7 rules allows at L3/L4 (the ref's
//    `l7` says so); HTTP 403 / DNS REFUSED are not predicted.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "flow/flow.h"
#include "policy/types.h"

namespace tw::policy {

// Agent settings the verdict depends on. The defaults are Cilium's defaults in Kubernetes.
struct EvaluatorOptions {
  enum class EnforcementMode : uint8_t { kDefault, kAlways, kNever };
  EnforcementMode enforcement_mode = EnforcementMode::kDefault;  // --enable-policy
  bool allow_localhost = true;  // --allow-localhost=always (auto becomes always in k8s)
  // Value of io.cilium.k8s.policy.cluster for the `cluster` entity; "" = any pod/endpoint
  // carrying a namespace or cluster label counts as in-cluster.
  std::string local_cluster_name;
  // Subject-selection cache entries (per distinct label set); 0 disables the cache.
  size_t selection_cache_size = 65536;
};

// One endpoint of a connection. Views must outlive the Evaluate() call.
struct EndpointView {
  // Identity labels as Hubble shows them: "k8s:app=odoo", "reserved:world", ...
  std::vector<absl::string_view> labels;
  absl::string_view namespace_;
  uint16_t reserved = 0;  // tw::flow::Reserved bits (ComputeReserved); merged with labels
  absl::string_view ip;   // for CIDR rules
  uint32_t identity = 0;  // informational
};

struct Connection {
  EndpointView source;
  EndpointView destination;
  // DNS names of the destination (Hubble destination_names): for toFQDNs.
  std::vector<absl::string_view> destination_names;
  // The service the destination was reached through (Hubble destination_service): for
  // toServices.k8sService.
  absl::string_view destination_service;
  absl::string_view destination_service_namespace;
  flow::Protocol protocol = flow::Protocol::kUnknown;
  uint16_t destination_port = 0;
  uint8_t icmp_type = 0;
  std::optional<bool> is_reply;  // true -> UNDECIDED (replies are not policy-checked)
};

enum class Decision : uint8_t { kAllowed = 0, kDenied = 1, kUndecided = 2 };
absl::string_view DecisionName(Decision d);  // "ALLOWED", "DENIED", "UNDECIDED"

// A reference to one rule element (allowed_by/denied_by) or to the spec that imposes
// default-deny (default_deny_by). Points into the PolicySet the Evaluator was built from.
struct RuleRef {
  const Policy* policy = nullptr;
  int spec_index = -1;  // -1: `spec`, i: `specs[i]`
  Section section = Section::kIngress;
  // Index of the element within `section`. For default_deny_by it is the first element of
  // the direction's sections that exists (entries all carry DefaultDeny), or -1 for a KNP
  // isolated by policyTypes alone.
  int rule_index = -1;
  int line = 0;     // the element's line (default_deny_by: that element, or the spec)
  bool l7 = false;  // the allow element carries L7 rules (traffic goes through the proxy)

  absl::string_view name() const { return policy ? absl::string_view(policy->name) : ""; }
  absl::string_view namespace_() const {
    return policy ? absl::string_view(policy->namespace_) : "";
  }
  PolicyKind kind() const { return policy ? policy->kind : PolicyKind::kCiliumNetworkPolicy; }
  absl::string_view file() const { return policy ? absl::string_view(policy->file) : ""; }
  // "spec.egress[0]", "specs[1].ingressDeny[2]", "spec" (rule_index -1).
  std::string Path() const;
  // "kind ns/name spec.egress[0] (file:line)".
  std::string ToString() const;
};

struct DirectionVerdict {
  bool enforced = false;      // some rule with entries for this direction selects the endpoint
  bool default_deny = false;  // enforced and some selecting rule is default-deny
  Decision decision = Decision::kAllowed;
  std::vector<RuleRef> allowed_by;
  std::vector<RuleRef> denied_by;
  std::vector<RuleRef> default_deny_by;  // the specs that put the endpoint into default-deny
  bool allowed_by_localhost = false;     // ingress from reserved:host (allow-localhost)
  std::string undecided_reason;
  uint32_t drop_reason = 0;  // 181 with denied_by, 133 without; 0 unless DENIED
};

struct Evaluation {
  Decision decision = Decision::kAllowed;
  uint32_t drop_reason = 0;  // flow::kDropPolicyDeny (181) / kDropPolicyDenied (133) / 0
  std::string undecided_reason;
  DirectionVerdict egress;   // at the source
  DirectionVerdict ingress;  // at the destination
  // Which side dropped (egress first, as in the datapath); nullopt unless DENIED.
  std::optional<Direction> denied_at;
};

class Evaluator {
 public:
  explicit Evaluator(const PolicySet& policies, EvaluatorOptions options = {});
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Thread-safe.
  Evaluation Evaluate(const Connection& c) const;

  // One side only: `subject` is the endpoint whose policy applies, `peer` the other end.
  // For egress the Connection's destination_* fields describe the peer.
  DirectionVerdict EvaluateDirection(Direction dir, const EndpointView& subject,
                                     const EndpointView& peer, const Connection& c) const;

  // The rules (with their policy) whose subject selects the endpoint and that have
  // entries for `dir` — what the simulator and linter call "selected by".
  struct Selected {
    const Policy* policy;
    const Rule* rule;
  };
  std::vector<Selected> SelectingRules(const EndpointView& endpoint, Direction dir) const;

  const PolicySet& policies() const;
  const EvaluatorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Builds an EndpointView from a flow endpoint (labels, namespace, reserved, identity) and
// an IP. The view points into `ep` and `ip`.
EndpointView ViewOf(const flow::Endpoint& ep, absl::string_view ip);
// Builds the Connection for a flow: endpoints, IPs, destination_names, destination
// service, L4 protocol/port/ICMP type, is_reply. The connection points into `f`.
Connection ConnectionOf(const flow::Flow& f);

// Evaluates a flow against an evaluator (fast path for streams of flows).
Evaluation EvaluateFlow(const Evaluator& eval, const flow::Flow& f);
// One-off convenience: builds an Evaluator for the set (costly per call; prefer the above).
Evaluation EvaluateFlow(const PolicySet& policies, const flow::Flow& f);

}  // namespace tw::policy
