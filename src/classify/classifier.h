// Drop classification: why was this DROPPED (or, for AUDIT, "would be dropped") flow
// dropped, how bad is it, and did the connection use to work? Every DROPPED and AUDIT flow
// gets exactly one class; the first rule that matches wins (docs/classification.md):
//
//   1 infra_drop              medium   a known drop reason that is not policy (conntrack, ...)
//   2 reply_drop              low      a reply: conntrack state was lost, policy saw it as new
//   3 dns_blocked             critical destination is the DNS service on its DNS port
//   4 tier0_violation         critical the enforcing endpoint is Tier 0 (or Cilium's health /
//                                      ingress endpoint): Tier 0 must never be policed
//   5 metrics_scrape_blocked  high     a scraper reaching a metrics port
//   6 bypass_ineffective      high     the enforcing endpoint carries the debug-bypass label
//   7 platform_blocked        high     the enforcing endpoint is Tier 1
//   8 baseline_regression     high     the connection is in the baseline
//   9 expected_deny           low      default-deny doing its job
//
// The classifier does not care where flows come from: the daemon (live relay) and
// `tierwatch analyze` (captures) feed it the same way. It judges one flow at a time; counting
// each denied packet once (a drop event and its policy-verdict twin) is DropStream's job
// (drop_stream.h), and DropAnalyzer (analyzer.h) puts the pieces together.
//
//   tw::tier::TierModel tiers;                               // or LoadTierModel(...)
//   tw::classify::DropClassifier classifier({.tiers = &tiers, .baseline = &baseline,
//                                            .policies = &evaluator, .symbols = &symbols});
//   for (const tw::flow::Flow& f : flows) {
//     classifier.Observe(f);                                 // DNS answers, working connections
//     if (auto c = classifier.Classify(f)) {
//       std::cout << tw::classify::DropClassName(c->drop_class) << ": " << c->explanation;
//     }
//   }
//
// Not thread-safe (Observe mutates); Classify is const and may run concurrently with other
// Classify calls only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "baseline/baseline.h"
#include "flow/connection.h"
#include "flow/flow.h"
#include "policy/evaluator.h"
#include "tier/tier_model.h"

namespace tw::classify {

// --- Classes and severities ----------------------------------------------------------------

// In precedence order (the first matching rule wins).
enum class DropClass : uint8_t {
  kInfraDrop = 0,
  kReplyDrop = 1,
  kDnsBlocked = 2,
  kTier0Violation = 3,
  kMetricsScrapeBlocked = 4,
  kBypassIneffective = 5,
  kPlatformBlocked = 6,
  kBaselineRegression = 7,
  kExpectedDeny = 8,
};
inline constexpr int kDropClassCount = 9;
// Every class in precedence order.
const std::vector<DropClass>& AllDropClasses();
absl::string_view DropClassName(DropClass c);  // "infra_drop", ...
std::optional<DropClass> DropClassFromName(absl::string_view name);

enum class DropSeverity : uint8_t { kCritical = 0, kHigh = 1, kMedium = 2, kLow = 3 };
absl::string_view SeverityName(DropSeverity s);  // "critical", "high", "medium", "low"
std::optional<DropSeverity> SeverityFromName(absl::string_view name);
DropSeverity SeverityOf(DropClass c);

// Which endpoint's policy dropped it: the source for EGRESS, the destination for INGRESS.
enum class Side : uint8_t { kSource = 0, kDestination = 1 };
absl::string_view SideName(Side s);  // "source", "destination"

// How the enforcing side was decided.
enum class SideBasis : uint8_t {
  kTrafficDirection = 0,  // the flow's traffic_direction
  kPolicyEngine = 1,      // no direction on the flow; the loaded policies deny at this side
  kAssumedSource = 2,     // no direction, no policy decision: the source is assumed
};
absl::string_view SideBasisName(SideBasis b);  // "traffic_direction", "policy_engine", "assumed"

// --- Results ---------------------------------------------------------------------------

// A tier as a value (TierAssignment holds views into the model; classifications outlive a
// reloaded model in the daemon's ring).
struct TierInfo {
  tier::TierKind kind = tier::TierKind::kUnknown;
  int level = -1;      // 0, 1, 2; -1 for entities and unknown
  std::string name;    // "system", "platform", "workloads"
  std::string entity;  // "world", "health", ... for entities and Cilium's reserved endpoints
  std::string display = "unknown";  // "tier 0", "tier 0 (cilium health)", "entity world"

  static TierInfo From(const tier::TierAssignment& a);
  const std::string& ToString() const { return display; }
  bool is_tier(int l) const { return level == l; }
};

// One side of the drop as the classifier judged it.
struct EndpointFacts {
  flow::Peer peer;  // as connection keys name it ("business/odoo", "(world)", an FQDN)
  TierInfo tier;
  bool bypass = false;       // carries the debug-bypass label
  bool scraper = false;      // a metrics scraper per the tier model
  bool dns_service = false;  // the DNS service (on any port)
};

// A policy reference as a value: from the evaluator (a rule element or, for
// default_deny_by, the spec that imposes default-deny) or from Hubble's *_denied_by.
struct PolicyRefInfo {
  std::string kind;        // "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", ...
  std::string namespace_;  // "" for cluster-wide
  std::string name;
  std::string rule;  // "spec.egress[0]", "specs[1].ingressDeny[0]", "spec"; "" from Hubble
  std::string file;  // "" from Hubble
  int line = 0;
  bool from_hubble = false;

  std::string DisplayName() const;  // "ns/name" or "name"
  // "CiliumClusterwideNetworkPolicy default-deny-all spec.egress[0] (file.yaml:12)".
  std::string ToString() const;
  static PolicyRefInfo From(const policy::RuleRef& ref);
  static PolicyRefInfo From(const flow::PolicyRef& ref);
};

// Which policy caused it. Filled from the policy engine when policies are loaded and from
// Hubble's own *_denied_by fields when the flow (or its policy-verdict twin) carries them.
struct Attribution {
  bool evaluated = false;  // the policy engine judged the flow
  // The engine's verdict for the connection and at the enforcing side.
  policy::Decision decision = policy::Decision::kUndecided;
  policy::Decision side_decision = policy::Decision::kUndecided;
  std::optional<policy::Direction> denied_at;  // where the engine drops it (egress first)
  uint32_t engine_drop_reason = 0;             // 181 POLICY_DENY / 133 POLICY_DENIED / 0
  std::string undecided_reason;
  std::vector<PolicyRefInfo> denied_by;         // deny rules matching at the enforcing side
  std::vector<PolicyRefInfo> default_deny_by;   // specs putting the enforcing side in default-deny
  std::vector<PolicyRefInfo> allowed_by;        // when the engine allows what the cluster denied
  std::vector<PolicyRefInfo> hubble_denied_by;  // Hubble's egress/ingress_denied_by
  uint32_t policy_match_type = 0;               // from the policy-verdict event

  // The policies responsible, most specific first: deny rules, else default-deny
  // imposers, else Hubble's names. Empty when nothing is known.
  std::vector<const PolicyRefInfo*> Responsible() const;
};

struct Classification {
  // Stable short id ("d3f9a1c07b2e"): a hash of the counted event's uuid, or of its time,
  // node and 5-tuple when it has none. `tierwatch analyze --explain ID` finds it again.
  std::string id;
  DropClass drop_class = DropClass::kExpectedDeny;
  DropSeverity severity = DropSeverity::kLow;
  bool predicted = false;  // AUDIT: would be dropped, was not

  // The counted event (a type-1 drop event, a type-5 verdict without a drop twin, an
  // AUDIT verdict or an L7 drop), enriched with its twin's match information.
  flow::Flow flow;
  std::string twin_uuid;  // the policy-verdict twin folded into this drop, if any

  Side enforcing_side = Side::kSource;
  SideBasis side_basis = SideBasis::kTrafficDirection;
  EndpointFacts source;
  EndpointFacts destination;

  // The connection as seen on the wire (source -> destination:port/protocol); nullopt for
  // flows without protocol or port.
  std::optional<flow::ConnectionKey> connection;
  // reply_drop: the connection this reply belongs to (client -> server) and why it is
  // known to be a reply.
  std::optional<flow::ConnectionKey> reply_to;
  flow::ReplyBasis reply_basis = flow::ReplyBasis::kNone;

  uint32_t drop_reason = 0;  // EffectiveDropReason of a DROPPED L3/L4 flow; 0 for AUDIT/L7
  bool in_baseline = false;
  absl::Time baseline_since = absl::InfinitePast();  // first_seen when in_baseline
  uint64_t baseline_count = 0;

  Attribution attribution;
  std::string explanation;  // one sentence for the person on call
  // The decision step by step (only when asked for: DropClassifier::Classify(f, true)).
  std::vector<std::string> reasoning;

  const EndpointFacts& enforcing() const {
    return enforcing_side == Side::kSource ? source : destination;
  }
  const flow::Endpoint& enforcing_endpoint() const {
    return enforcing_side == Side::kSource ? flow.source : flow.destination;
  }
  // "business/odoo -> business/postgres:5432/TCP" (or the flow's addresses when unkeyed).
  std::string ConnectionText() const;
};

// --- The classifier ----------------------------------------------------------------------

struct ClassifierContext {
  const tier::TierModel* tiers = nullptr;        // required
  const baseline::Baseline* baseline = nullptr;  // optional: "did it use to work?"
  const policy::Evaluator* policies = nullptr;   // optional: "which policy caused it?"
  flow::SymbolTable* symbols = nullptr;          // required: connection keys intern names
};

struct ClassifierOptions {
  // Connections seen working (FORWARDED originals) in this stream are remembered, up to
  // this many, so that a dropped reply is recognised even when the baseline lacks the
  // connection. 0 disables it.
  size_t max_stream_connections = 200000;
  flow::DnsNameCacheOptions dns;
};

// The one-sentence explanation of a classification (what Classify puts in `explanation`).
std::string Explanation(const Classification& c, const tier::TierModel& tiers);

// Whether a flow is one the classifier classifies: DROPPED or AUDIT.
bool IsClassifiable(const flow::Flow& f);
// Stable id for a counted event (see Classification::id).
std::string DropId(const flow::Flow& f);

class DropClassifier {
 public:
  explicit DropClassifier(ClassifierContext context, ClassifierOptions options = {});

  // Learns from every flow (drops included), in stream order, what later classifications
  // need: DNS answers (names of IP-only destinations) and working connections (replies).
  void Observe(const flow::Flow& f);

  // Classifies one DROPPED/AUDIT flow; nullopt for any other verdict. With `explain`, the
  // result's `reasoning` lists every rule checked. `verdict`, when given, is the policy
  // engine's verdict for this flow (the simulator has it already); otherwise the engine is
  // asked when policies are loaded.
  // `with_explanation` false leaves `explanation` empty (bulk callers that only count, like
  // the simulator, fill it later with Explanation()).
  std::optional<Classification> Classify(const flow::Flow& f, bool explain = false,
                                         const policy::Evaluation* verdict = nullptr,
                                         bool with_explanation = true) const;

  const ClassifierContext& context() const { return context_; }
  const flow::DnsNameCache& dns() const { return dns_; }
  size_t stream_connections() const { return stream_connections_.size(); }

 private:
  struct ReplyCheck {
    bool reply = false;
    flow::ReplyBasis basis = flow::ReplyBasis::kNone;
    std::optional<flow::ConnectionKey> original;
    std::string why;
  };
  ReplyCheck CheckReply(const flow::Flow& f) const;
  // One side of `f` as the rules see it.
  EndpointFacts Facts(const flow::Flow& f, const flow::Endpoint& ep, const std::string& ip,
                      const std::vector<flow::Symbol>& names, flow::PeerRole role) const;
  bool KnownConnection(const flow::ConnectionKey& key) const;

  ClassifierContext context_;
  ClassifierOptions options_;
  flow::DnsNameCache dns_;
  absl::flat_hash_set<flow::ConnectionKey> stream_connections_;
};

}  // namespace tw::classify
