#include "classify/classifier.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/check.h"
#include "common/time_format.h"

namespace tw::classify {

using flow::Flow;
using flow::Protocol;

// --- Names -----------------------------------------------------------------------------

namespace {

constexpr absl::string_view kClassNames[kDropClassCount] = {"infra_drop",
                                                            "reply_drop",
                                                            "dns_blocked",
                                                            "tier0_violation",
                                                            "metrics_scrape_blocked",
                                                            "bypass_ineffective",
                                                            "platform_blocked",
                                                            "baseline_regression",
                                                            "expected_deny"};

constexpr DropSeverity kClassSeverity[kDropClassCount] = {
    DropSeverity::kMedium,   DropSeverity::kLow,  DropSeverity::kCritical,
    DropSeverity::kCritical, DropSeverity::kHigh, DropSeverity::kHigh,
    DropSeverity::kHigh,     DropSeverity::kHigh, DropSeverity::kLow};

constexpr absl::string_view kSeverityNames[] = {"critical", "high", "medium", "low"};

}  // namespace

const std::vector<DropClass>& AllDropClasses() {
  static const std::vector<DropClass>* const kAll = [] {
    auto* v = new std::vector<DropClass>();
    for (int i = 0; i < kDropClassCount; ++i) v->push_back(static_cast<DropClass>(i));
    return v;
  }();
  return *kAll;
}

namespace {

// The tables are indexed by enum value: a value outside the enum is a bug, not input.
int ClassIndex(DropClass c) {
  const int i = static_cast<int>(c);
  TW_CHECK(i >= 0 && i < kDropClassCount, "DropClass ", i);
  return i;
}

}  // namespace

absl::string_view DropClassName(DropClass c) { return kClassNames[ClassIndex(c)]; }

std::optional<DropClass> DropClassFromName(absl::string_view name) {
  for (int i = 0; i < kDropClassCount; ++i) {
    if (kClassNames[i] == name) return static_cast<DropClass>(i);
  }
  return std::nullopt;
}

absl::string_view SeverityName(DropSeverity s) {
  const int i = static_cast<int>(s);
  TW_CHECK(i >= 0 && i < 4, "DropSeverity ", i);
  return kSeverityNames[i];
}

std::optional<DropSeverity> SeverityFromName(absl::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kSeverityNames[i] == name) return static_cast<DropSeverity>(i);
  }
  return std::nullopt;
}

DropSeverity SeverityOf(DropClass c) { return kClassSeverity[ClassIndex(c)]; }

absl::string_view SideName(Side s) { return s == Side::kSource ? "source" : "destination"; }

absl::string_view SideBasisName(SideBasis b) {
  switch (b) {
    case SideBasis::kTrafficDirection:
      return "traffic_direction";
    case SideBasis::kPolicyEngine:
      return "policy_engine";
    case SideBasis::kAssumedSource:
      return "assumed";
  }
  TW_UNREACHABLE("SideBasis ", static_cast<int>(b));
}

TierInfo TierInfo::From(const tier::TierAssignment& a) {
  TierInfo t;
  t.kind = a.kind;
  t.level = a.level;
  t.name = std::string(a.tier_name);
  t.entity = std::string(a.entity);
  t.display = a.ToString();
  return t;
}

std::string PolicyRefInfo::DisplayName() const {
  return namespace_.empty() ? name : absl::StrCat(namespace_, "/", name);
}

std::string PolicyRefInfo::ToString() const {
  std::string out = absl::StrCat(kind.empty() ? "policy" : kind, " ", DisplayName());
  if (!rule.empty()) absl::StrAppend(&out, " ", rule);
  if (!file.empty()) absl::StrAppend(&out, " (", file, ":", line, ")");
  if (from_hubble) absl::StrAppend(&out, " (reported by Hubble)");
  return out;
}

PolicyRefInfo PolicyRefInfo::From(const policy::RuleRef& ref) {
  PolicyRefInfo p;
  p.kind = std::string(policy::PolicyKindName(ref.kind()));
  p.namespace_ = std::string(ref.namespace_());
  p.name = std::string(ref.name());
  p.rule = ref.Path();
  p.file = std::string(ref.file());
  p.line = ref.line;
  return p;
}

PolicyRefInfo PolicyRefInfo::From(const flow::PolicyRef& ref) {
  PolicyRefInfo p;
  p.kind = ref.kind.str();
  p.namespace_ = ref.namespace_.str();
  p.name = ref.name.str();
  p.from_hubble = true;
  return p;
}

std::vector<const PolicyRefInfo*> Attribution::Responsible() const {
  std::vector<const PolicyRefInfo*> out;
  const std::vector<PolicyRefInfo>* src = nullptr;
  if (!denied_by.empty()) {
    src = &denied_by;
  } else if (!default_deny_by.empty()) {
    src = &default_deny_by;
  } else if (!hubble_denied_by.empty()) {
    src = &hubble_denied_by;
  }
  if (src != nullptr) {
    for (const PolicyRefInfo& p : *src) out.push_back(&p);
  }
  return out;
}

std::string Classification::ConnectionText() const {
  if (connection) return connection->ToString();
  return absl::StrCat(source.peer.ToString(), " -> ", destination.peer.ToString(), " ",
                      flow::ProtocolName(flow.l4.protocol));
}

// --- Helpers -----------------------------------------------------------------------------

bool IsClassifiable(const Flow& f) {
  return f.verdict == flow::Verdict::kDropped || f.verdict == flow::Verdict::kAudit;
}

namespace {

// FNV-1a 64: stable across processes and platforms (absl::Hash is salted per process).
uint64_t Fnv1a(absl::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool IsL7(const Flow& f) { return f.type == flow::FlowType::kL7 || f.event_type == flow::kEventL7; }

bool IsPolicyReason(uint32_t r) {
  return r == flow::kDropPolicyDenied || r == flow::kDropPolicyDeny || r == flow::kDropAuthRequired;
}

bool HasPorts(Protocol p) {
  return p == Protocol::kTCP || p == Protocol::kUDP || p == Protocol::kSCTP;
}

bool IsIcmp(Protocol p) { return p == Protocol::kICMPv4 || p == Protocol::kICMPv6; }

// How people name a peer in a sentence: "business/odoo", "remote-node", "github.com".
std::string PeerName(const flow::Peer& p) {
  switch (p.kind) {
    case flow::PeerKind::kWorkload:
      return p.ToString();
    case flow::PeerKind::kEntity:
      if (p.name == "health") return "the Cilium health endpoint";
      if (p.name == "ingress") return "the Cilium ingress endpoint";
      return absl::StrCat("the ", p.name.view(), " entity");
    case flow::PeerKind::kFqdn:
    case flow::PeerKind::kIp:
      return p.ToString();
  }
  TW_UNREACHABLE("PeerKind ", static_cast<int>(p.kind));
}

std::string PortText(const Flow& f) {
  if (IsIcmp(f.l4.protocol)) {
    return absl::StrCat(flow::ProtocolName(f.l4.protocol), " type ", f.l4.icmp_type);
  }
  if (HasPorts(f.l4.protocol)) {
    return absl::StrCat(f.l4.destination_port, "/", flow::ProtocolName(f.l4.protocol));
  }
  return std::string(flow::ProtocolName(f.l4.protocol));
}

std::string L7Text(const Flow& f) {
  if (!f.l7) return "";
  if (f.l7->dns) return absl::StrCat("the DNS query for ", f.l7->dns->query);
  if (f.l7->http) {
    return absl::StrCat("HTTP ", f.l7->http->method, " ", f.l7->http->url);
  }
  return "the L7 request";
}

std::string JoinNames(const std::vector<const PolicyRefInfo*>& refs) {
  std::vector<std::string> names;
  for (const PolicyRefInfo* r : refs) {
    std::string n = r->DisplayName();
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
  }
  if (names.size() <= 1) return names.empty() ? "" : names[0];
  std::string last = names.back();
  names.pop_back();
  return absl::StrCat(absl::StrJoin(names, ", "), " and ", last);
}

std::string DirectionWord(Side s) { return s == Side::kSource ? "egress" : "ingress"; }

}  // namespace

std::string DropId(const Flow& f) {
  return absl::StrFormat("%012x", Fnv1a(flow::EventKey(f)) & 0xffffffffffffull);
}

namespace {

flow::SymbolTable& RequiredSymbols(const ClassifierContext& context) {
  TW_CHECK(context.symbols != nullptr, "ClassifierContext.symbols is required");
  return *context.symbols;
}

}  // namespace

// --- DropClassifier -----------------------------------------------------------------------

DropClassifier::DropClassifier(ClassifierContext context, ClassifierOptions options)
    : context_(context), options_(options), dns_(RequiredSymbols(context), options.dns) {
  TW_CHECK(context_.tiers != nullptr, "ClassifierContext.tiers is required");
}

void DropClassifier::Observe(const Flow& f) {
  dns_.Observe(f);
  if (options_.max_stream_connections == 0 ||
      stream_connections_.size() >= options_.max_stream_connections) {
    return;
  }
  switch (f.verdict) {
    case flow::Verdict::kForwarded:
    case flow::Verdict::kRedirected:
    case flow::Verdict::kTranslated:
    case flow::Verdict::kTraced:
      break;
    default:
      return;
  }
  const flow::ServerPortIndex* servers =
      context_.baseline != nullptr ? &context_.baseline->server_ports() : nullptr;
  if (auto key = flow::ConnectionKeyOf(f, *context_.symbols, &dns_, servers)) {
    stream_connections_.insert(*key);
  }
}

bool DropClassifier::KnownConnection(const flow::ConnectionKey& key) const {
  if (context_.baseline != nullptr && context_.baseline->Contains(key)) return true;
  return stream_connections_.contains(key);
}

// Hubble leaves is_reply unset on drops, so most replies are recognised here: by TCP flags
// (SYN+ACK), by ICMP type, or as the reverse of a connection known to work — TCP without
// SYN from that connection's server port, UDP/SCTP from it to an ephemeral port. The
// ephemeral-port heuristic alone is not enough: a dropped original towards a high port
// would look like a reply and hide a real policy problem.
DropClassifier::ReplyCheck DropClassifier::CheckReply(const Flow& f) const {
  ReplyCheck r;
  flow::SymbolTable& symbols = *context_.symbols;
  // is_reply=true settles it. is_reply=false does not: it is conntrack's view, and a reply
  // whose conntrack entry was lost is exactly what conntrack calls new.
  if (f.is_reply.value_or(false)) {
    r.reply = true;
    r.basis = flow::ReplyBasis::kIsReplyField;
    r.why = "Hubble's is_reply is true";
    r.original = flow::KeyReversed(f, symbols, &dns_);
    return r;
  }
  const flow::L4& l4 = f.l4;
  if (l4.protocol == Protocol::kTCP) {
    if ((l4.tcp_flags & flow::kSYN) && (l4.tcp_flags & flow::kACK)) {
      r.reply = true;
      r.basis = flow::ReplyBasis::kTcpFlags;
      r.why = "TCP SYN+ACK answers a connection attempt";
      r.original = flow::KeyReversed(f, symbols, &dns_);
      return r;
    }
    if (l4.tcp_flags & flow::kSYN) {
      r.why = "TCP SYN without ACK opens a connection";
      return r;
    }
    auto reversed = flow::KeyReversed(f, symbols, &dns_);
    if (reversed && KnownConnection(*reversed)) {
      r.reply = true;
      r.basis = flow::ReplyBasis::kKnownServerPort;
      r.why = absl::StrCat("TCP without SYN from port ", l4.source_port,
                           ", the server port of known connection ", reversed->ToString());
      r.original = std::move(reversed);
      return r;
    }
    r.why = "TCP without SYN, but no known connection has this as its reverse";
    return r;
  }
  if (l4.protocol == Protocol::kUDP || l4.protocol == Protocol::kSCTP) {
    if (l4.destination_port >= flow::kFirstEphemeralPort) {
      auto reversed = flow::KeyReversed(f, symbols, &dns_);
      if (reversed && KnownConnection(*reversed)) {
        r.reply = true;
        r.basis = flow::ReplyBasis::kKnownServerPort;
        r.why = absl::StrCat(flow::ProtocolName(l4.protocol), " from port ", l4.source_port,
                             " to ephemeral port ", l4.destination_port,
                             ", the reverse of known connection ", reversed->ToString());
        r.original = std::move(reversed);
        return r;
      }
    }
    r.why = "no known connection has this as its reverse";
    return r;
  }
  if (IsIcmp(l4.protocol)) {
    flow::ReplyInfo info = flow::InferReply(f, nullptr);
    if (info.state == flow::ReplyState::kReply) {
      r.reply = true;
      r.basis = flow::ReplyBasis::kIcmpType;
      r.why = absl::StrCat("ICMP type ", l4.icmp_type, " answers a request or a connection");
      r.original = flow::KeyReversed(f, symbols, &dns_);
      return r;
    }
    r.why = absl::StrCat("ICMP type ", l4.icmp_type, " is a request");
    return r;
  }
  r.why = "nothing marks it as a reply";
  return r;
}

namespace {

std::string SideText(const Classification& c) {
  const EndpointFacts& e = c.enforcing();
  std::string out = absl::StrCat("at the ", SideName(c.enforcing_side), "'s ",
                                 DirectionWord(c.enforcing_side), " (", PeerName(e.peer), ")");
  if (c.side_basis == SideBasis::kAssumedSource) {
    absl::StrAppend(&out, " (the flow has no traffic direction: source assumed)");
  } else if (c.side_basis == SideBasis::kPolicyEngine) {
    absl::StrAppend(&out, " (the flow has no traffic direction: the policies deny it there)");
  }
  return out;
}

std::string PolicyText(const Classification& c) {
  const Attribution& a = c.attribution;
  if (!a.denied_by.empty()) {
    std::vector<const PolicyRefInfo*> refs;
    for (const auto& r : a.denied_by) refs.push_back(&r);
    const PolicyRefInfo& first = a.denied_by.front();
    return absl::StrCat(" by the deny rule ", first.rule, " of ", JoinNames(refs), " (", first.file,
                        ":", first.line, ")");
  }
  if (!a.default_deny_by.empty()) {
    std::vector<const PolicyRefInfo*> refs;
    for (const auto& r : a.default_deny_by) refs.push_back(&r);
    return absl::StrCat(" because ", JoinNames(refs), " put", refs.size() == 1 ? "s" : "",
                        " it into default-deny for ", DirectionWord(c.enforcing_side),
                        " and no policy allows this");
  }
  if (!a.hubble_denied_by.empty()) {
    std::vector<const PolicyRefInfo*> refs;
    for (const auto& r : a.hubble_denied_by) refs.push_back(&r);
    return absl::StrCat(" by ", JoinNames(refs), " (as Hubble reports)");
  }
  if (a.evaluated && a.side_decision == policy::Decision::kAllowed) {
    std::string by;
    if (!a.allowed_by.empty()) {
      std::vector<const PolicyRefInfo*> refs;
      for (const auto& r : a.allowed_by) refs.push_back(&r);
      by = absl::StrCat(" (", JoinNames(refs), ")");
    }
    return absl::StrCat(" although the given policies allow it", by,
                        " (the cluster runs other policies than these)");
  }
  return " under default-deny (no allow rule matched)";
}

std::string WhatText(const Classification& c, bool l7) {
  std::string what = c.ConnectionText();
  if (l7) {
    std::string l7text = L7Text(c.flow);
    if (!l7text.empty()) what = absl::StrCat(l7text, " (", what, ")");
  }
  return what;
}

std::string BaselineText(const Classification& c) {
  if (!c.in_baseline) return "";
  return absl::StrCat("in the baseline since ", FormatRfc3339(c.baseline_since));
}

std::string Explain(const Classification& c, bool l7, const tier::TierModel& tiers) {
  const std::string verb = c.predicted ? "would be denied" : "was denied";
  const std::string what = WhatText(c, l7);
  const std::string where = SideText(c);
  const std::string by = PolicyText(c);
  const std::string l7rule = l7 ? " (an L7 rule)" : "";
  const EndpointFacts& enf = c.enforcing();
  std::string enforcer = PeerName(enf.peer);
  switch (c.drop_class) {
    case DropClass::kInfraDrop: {
      absl::string_view reason = flow::DropReasonName(c.drop_reason);
      std::string r =
          reason.empty() ? absl::StrCat("drop reason ", c.drop_reason) : std::string(reason);
      return absl::StrCat(what, " was dropped by the datapath on ", c.flow.node_name.view(),
                          " with ", r,
                          ", not by a network policy: look at the Cilium agent on that node "
                          "(conntrack and BPF maps, routing, the packet itself), not at the "
                          "policies.");
    }
    case DropClass::kReplyDrop: {
      std::string orig = c.reply_to ? c.reply_to->ToString() : "a connection";
      return absl::StrCat(what, " is a reply of ", orig, " and ", verb, " ", where,
                          ": policy never applies to replies, so the connection's conntrack "
                          "state was lost (agent restart, CT map full or garbage-collected); "
                          "it recovers when the client reconnects, and if it persists check "
                          "the Cilium agent on ",
                          c.flow.node_name.view(), ".");
    }
    case DropClass::kDnsBlocked: {
      std::string fix = c.enforcing_side == Side::kDestination
                            ? absl::StrCat("allow ingress to the DNS service from ",
                                           PeerName(c.source.peer), " on 53/UDP and 53/TCP")
                            : absl::StrCat("allow egress from ", PeerName(c.source.peer),
                                           " to the DNS service on 53/UDP and 53/TCP");
      return absl::StrCat("DNS ", what, " ", verb, " ", where, by, l7rule,
                          ": pods lose name resolution; ", fix, ".");
    }
    case DropClass::kTier0Violation: {
      std::string fix;
      if (enf.tier.kind == tier::TierKind::kCiliumReserved) {
        fix = absl::StrCat("keep Cilium's ", enf.tier.entity,
                           " endpoint out of that policy's selector (e.g. require the namespace "
                           "label to exist) or allow its traffic");
      } else {
        fix = absl::StrCat("exclude namespace ", c.enforcing_endpoint().namespace_.view(),
                           " from that policy's selector or set enableDefaultDeny: false on it");
      }
      return absl::StrCat(what, " ", verb, " ", where, by, l7rule, ": ", enforcer,
                          " is Tier 0, which must never be policed; ", fix, ".");
    }
    case DropClass::kMetricsScrapeBlocked: {
      std::string fix =
          c.enforcing_side == Side::kSource
              ? absl::StrCat("allow egress from the scrapers to port ", c.flow.l4.destination_port)
              : absl::StrCat("allow ingress from the scrapers at ", PeerName(c.destination.peer),
                             " on port ", c.flow.l4.destination_port);
      return absl::StrCat("Metrics scrape ", what, " ", verb, " ", where, by, l7rule,
                          ": dashboards and alerts go blind for this target; ", fix, ".");
    }
    case DropClass::kBypassIneffective: {
      const auto& bl = tiers.options().debug_bypass_label;
      const Attribution& a = c.attribution;
      std::string lead = absl::StrCat(enforcer, " carries the debug-bypass label ", bl.ToString(),
                                      " yet ", what, " ", verb, " ", where, l7rule);
      if (!a.denied_by.empty()) {
        return absl::StrCat(lead, by, ": deny rules win over the bypass; remove or narrow it.");
      }
      if (!a.default_deny_by.empty()) {
        std::vector<const PolicyRefInfo*> refs;
        for (const auto& r : a.default_deny_by) refs.push_back(&r);
        const bool one = refs.size() == 1;
        return absl::StrCat(lead, ": ", JoinNames(refs), " still put", one ? "s" : "",
                            " it into default-deny for ", DirectionWord(c.enforcing_side),
                            "; exclude the bypass label from ",
                            one ? "its selector" : "their selectors",
                            " or set enableDefaultDeny: false on ", one ? "it" : "them", ".");
      }
      return absl::StrCat(lead, by,
                          ": a policy still selects it and imposes default-deny; exclude the "
                          "bypass label from its selector or set enableDefaultDeny: false on it.");
    }
    case DropClass::kPlatformBlocked: {
      std::string base = BaselineText(c);
      return absl::StrCat(what, " ", verb, " ", where, by, l7rule,
                          base.empty() ? "" : absl::StrCat(" (", base, ")"), ": ", enforcer,
                          " is a Tier 1 platform component and its ",
                          DirectionWord(c.enforcing_side),
                          " allow policy is missing this; add it to the Tier 1 policy for ",
                          c.enforcing_endpoint().namespace_.view(), ".");
    }
    case DropClass::kBaselineRegression:
      return absl::StrCat(
          what, " worked before (", BaselineText(c), ", ", c.baseline_count, " flows) and ",
          c.predicted ? "would now be denied" : "is now denied", " ", where, by, l7rule,
          ": legitimate traffic is blocked; add an allow rule for it to the ",
          DirectionWord(c.enforcing_side), " policy of ", enforcer, " or roll the change back.");
    case DropClass::kExpectedDeny:
      return absl::StrCat(what, " is not in the baseline and ", verb, " ", where, by, l7rule,
                          ": default-deny doing its job; if this traffic is wanted, allow it in ",
                          enforcer, "'s policies.");
  }
  TW_UNREACHABLE("DropClass ", static_cast<int>(c.drop_class));
}

}  // namespace

// --- The rules ---------------------------------------------------------------------------

namespace {

// What the rules look at, computed once before the first rule runs.
struct RuleInput {
  const Flow& flow;
  const Classification& c;  // both sides' facts, the connection, baseline, attribution
  const tier::TierModel& tiers;
  uint32_t reason;  // the drop reason (0 for AUDIT and L7)
  bool l7;
  bool infra;                                   // a drop reason that is not a policy reason
  const std::optional<std::string>& reply_why;  // set when the flow is a reply
  const std::string& not_reply_why;
  bool baseline_loaded;
};

// One rule: whether the flow is of this class, and (when `why` is given) a short reason
// for the reasoning list, worded to follow "yes, " or "no, ".
using RuleCheck = bool (*)(const RuleInput& in, std::string* why);

bool InfraDropRule(const RuleInput& in, std::string* why) {
  if (why != nullptr) {
    if (in.infra) {
      *why = absl::StrCat("drop reason ", flow::DropReasonName(in.reason), " (", in.reason,
                          ") is not a policy reason");
    } else if (in.reason == 0) {
      *why = in.l7 || in.c.predicted ? "AUDIT/L7 verdicts carry no drop reason"
                                     : "no drop reason known";
    } else {
      *why = absl::StrCat(flow::DropReasonName(in.reason), " is a policy reason");
    }
  }
  return in.infra;
}

bool ReplyDropRule(const RuleInput& in, std::string* why) {
  if (why != nullptr) *why = in.reply_why ? *in.reply_why : in.not_reply_why;
  return in.reply_why.has_value();
}

bool DnsBlockedRule(const RuleInput& in, std::string* why) {
  const bool dns = in.c.destination.dns_service;
  if (why != nullptr) {
    *why = absl::StrCat("destination ", dns ? "is" : "is not", " the DNS service on ",
                        PortText(in.flow));
  }
  return dns;
}

bool Tier0ViolationRule(const RuleInput& in, std::string* why) {
  const TierInfo& tier = in.c.enforcing().tier;
  if (why != nullptr) *why = absl::StrCat("the enforcing endpoint is ", tier.ToString());
  return tier.is_tier(0) || tier.kind == tier::TierKind::kCiliumReserved;
}

bool MetricsScrapeBlockedRule(const RuleInput& in, std::string* why) {
  const bool metrics_port = in.tiers.IsMetricsPort(in.flow.l4.destination_port);
  if (why != nullptr) {
    *why = absl::StrCat("source ", in.c.source.scraper ? "is" : "is not", " a scraper, port ",
                        PortText(in.flow), metrics_port ? " is" : " is not", " a metrics port");
  }
  return in.c.source.scraper && HasPorts(in.flow.l4.protocol) && metrics_port;
}

bool BypassIneffectiveRule(const RuleInput& in, std::string* why) {
  const bool bypass = in.c.enforcing().bypass;
  if (why != nullptr) {
    *why = absl::StrCat("the enforcing endpoint ", bypass ? "carries" : "does not carry", " ",
                        in.tiers.options().debug_bypass_label.ToString());
  }
  return bypass;
}

bool PlatformBlockedRule(const RuleInput& in, std::string* why) {
  const TierInfo& tier = in.c.enforcing().tier;
  if (why != nullptr) *why = absl::StrCat("the enforcing endpoint is ", tier.ToString());
  return tier.is_tier(1);
}

bool BaselineRegressionRule(const RuleInput& in, std::string* why) {
  if (why != nullptr) {
    *why = in.c.in_baseline     ? BaselineText(in.c)
           : in.baseline_loaded ? "not in the baseline"
                                : "no baseline loaded";
  }
  return in.c.in_baseline;
}

bool ExpectedDenyRule(const RuleInput&, std::string* why) {
  if (why != nullptr) *why = "default-deny doing its job";
  return true;
}

struct Rule {
  DropClass drop_class;
  RuleCheck matches;
};

// docs/classification.md's table, in precedence order: the first rule that matches wins.
// The last one always matches, so every DROPPED and AUDIT flow gets a class.
constexpr Rule kRules[] = {
    {DropClass::kInfraDrop, InfraDropRule},
    {DropClass::kReplyDrop, ReplyDropRule},
    {DropClass::kDnsBlocked, DnsBlockedRule},
    {DropClass::kTier0Violation, Tier0ViolationRule},
    {DropClass::kMetricsScrapeBlocked, MetricsScrapeBlockedRule},
    {DropClass::kBypassIneffective, BypassIneffectiveRule},
    {DropClass::kPlatformBlocked, PlatformBlockedRule},
    {DropClass::kBaselineRegression, BaselineRegressionRule},
    {DropClass::kExpectedDeny, ExpectedDenyRule},
};
static_assert(sizeof(kRules) / sizeof(kRules[0]) == kDropClassCount, "one rule per class");

// Runs the rules in order; with `reasoning`, notes every rule checked ("3 dns_blocked: no, ...").
DropClass FirstMatchingRule(const RuleInput& in, std::vector<std::string>* reasoning) {
  std::string why;
  for (size_t i = 0; i < kDropClassCount; ++i) {
    const Rule& rule = kRules[i];
    // The table is in the enum's order: rule i decides class i.
    TW_CHECK(static_cast<size_t>(rule.drop_class) == i, "rule ", i, " is out of order");
    const bool yes = rule.matches(in, reasoning != nullptr ? &why : nullptr);
    if (reasoning != nullptr) {
      reasoning->push_back(absl::StrCat(i + 1, " ", DropClassName(rule.drop_class), ": ",
                                        yes ? "yes, " : "no, ", why));
    }
    if (yes) return rule.drop_class;
  }
  TW_UNREACHABLE("the last rule (expected_deny) always matches");
}

// Which endpoint's policy dropped it.
void DecideEnforcingSide(const Flow& f, const std::optional<policy::Evaluation>& engine,
                         Classification* c) {
  if (f.traffic_direction == flow::TrafficDirection::kEgress) {
    c->enforcing_side = Side::kSource;
    c->side_basis = SideBasis::kTrafficDirection;
  } else if (f.traffic_direction == flow::TrafficDirection::kIngress) {
    c->enforcing_side = Side::kDestination;
    c->side_basis = SideBasis::kTrafficDirection;
  } else if (engine && engine->denied_at) {
    c->enforcing_side =
        *engine->denied_at == policy::Direction::kEgress ? Side::kSource : Side::kDestination;
    c->side_basis = SideBasis::kPolicyEngine;
  } else {
    c->enforcing_side = Side::kSource;
    c->side_basis = SideBasis::kAssumedSource;
  }
}

std::string EnforcingSideNote(const Flow& f, const Classification& c) {
  return absl::StrCat("enforcing side: ", SideName(c.enforcing_side), " (",
                      PeerName(c.enforcing().peer), ", ", c.enforcing().tier.ToString(), ") from ",
                      SideBasisName(c.side_basis),
                      f.traffic_direction != flow::TrafficDirection::kUnknown
                          ? absl::StrCat(" ", flow::TrafficDirectionName(f.traffic_direction))
                          : "");
}

std::vector<const PolicyRefInfo*> Pointers(const std::vector<PolicyRefInfo>& refs) {
  std::vector<const PolicyRefInfo*> out;
  for (const auto& r : refs) out.push_back(&r);
  return out;
}

// Which policy caused it: Hubble's names, and the engine's verdict at the enforcing side.
void Attribute(const Flow& f, const std::optional<policy::Evaluation>& engine, bool policies_loaded,
               Classification* c, const std::function<void(std::string)>& note) {
  Attribution& a = c->attribution;
  a.policy_match_type = f.policy_match_type;
  for (const auto* list : {&f.egress_denied_by, &f.ingress_denied_by}) {
    for (const flow::PolicyRef& r : *list) a.hubble_denied_by.push_back(PolicyRefInfo::From(r));
  }
  if (engine) {
    a.evaluated = true;
    a.decision = engine->decision;
    a.denied_at = engine->denied_at;
    a.engine_drop_reason = engine->drop_reason;
    a.undecided_reason = engine->undecided_reason;
    const policy::DirectionVerdict& side =
        c->enforcing_side == Side::kSource ? engine->egress : engine->ingress;
    a.side_decision = side.decision;
    if (a.undecided_reason.empty()) a.undecided_reason = side.undecided_reason;
    if (side.decision == policy::Decision::kAllowed) {
      // The policies given allow what the cluster denied: nothing here is responsible.
      for (const auto& r : side.allowed_by) a.allowed_by.push_back(PolicyRefInfo::From(r));
    } else {
      for (const auto& r : side.denied_by) a.denied_by.push_back(PolicyRefInfo::From(r));
      for (const auto& r : side.default_deny_by) {
        a.default_deny_by.push_back(PolicyRefInfo::From(r));
      }
    }
    std::vector<const PolicyRefInfo*> resp = a.Responsible();
    note(absl::StrCat("policy engine: ", policy::DecisionName(engine->decision), " overall, ",
                      policy::DecisionName(side.decision), " at the ",
                      DirectionWord(c->enforcing_side),
                      resp.empty() ? "" : absl::StrCat("; responsible: ", JoinNames(resp))));
  } else if (!policies_loaded) {
    note("no policies loaded: no policy attribution beyond what Hubble reports");
  }
  if (!a.hubble_denied_by.empty()) {
    note(absl::StrCat("Hubble names ", JoinNames(Pointers(a.hubble_denied_by)), " as denying it"));
  }
}

}  // namespace

std::string Explanation(const Classification& c, const tier::TierModel& tiers) {
  return Explain(c, IsL7(c.flow), tiers);
}

EndpointFacts DropClassifier::Facts(const Flow& f, const flow::Endpoint& ep, const std::string& ip,
                                    const std::vector<flow::Symbol>& names,
                                    flow::PeerRole role) const {
  const tier::TierModel& tiers = *context_.tiers;
  EndpointFacts e;
  e.peer = flow::PeerOf(ep, ip, names, role, *context_.symbols, &dns_, f.time);
  e.tier = TierInfo::From(tiers.TierOf(ep));
  e.bypass = tiers.HasBypassLabel(ep);
  e.scraper = tiers.IsScraper(ep);
  e.dns_service = tiers.IsDnsService(ep, f.l4.protocol, f.l4.destination_port);
  return e;
}

std::optional<Classification> DropClassifier::Classify(const Flow& f, bool explain,
                                                       const policy::Evaluation* verdict,
                                                       bool with_explanation) const {
  if (!IsClassifiable(f)) return std::nullopt;
  Classification c;
  c.flow = f;
  c.id = DropId(f);
  c.predicted = f.verdict == flow::Verdict::kAudit;
  std::vector<std::string>* reasoning = explain ? &c.reasoning : nullptr;
  auto note = [reasoning](std::string s) {
    if (reasoning != nullptr) reasoning->push_back(std::move(s));
  };

  const bool l7 = IsL7(f);
  c.drop_reason = (f.verdict == flow::Verdict::kDropped && !l7) ? f.EffectiveDropReason() : 0;

  // Both sides, named as connection keys name them, and the connection from those peers.
  c.source = Facts(f, f.source, f.source_ip, f.source_names, flow::PeerRole::kSource);
  c.destination =
      Facts(f, f.destination, f.destination_ip, f.destination_names, flow::PeerRole::kDestination);
  c.connection = flow::KeyAsSeen(f, c.source.peer, c.destination.peer);
  if (c.connection && context_.baseline != nullptr) {
    if (auto rec = context_.baseline->Find(*c.connection)) {
      c.in_baseline = true;
      c.baseline_since = rec->first_seen;
      c.baseline_count = rec->count;
    }
  }
  if (reasoning != nullptr) {
    note(absl::StrCat("connection ", c.ConnectionText(), "; verdict ", flow::VerdictName(f.verdict),
                      c.predicted ? " (AUDIT: would be dropped)" : "", l7 ? "; L7 flow" : "",
                      "; event type ", f.event_type));
  }

  // Rule 1 needs the reason; rule 2 the reply inference. Only policy drops go to the engine.
  const bool infra = c.drop_reason != 0 && !IsPolicyReason(c.drop_reason);
  ReplyCheck reply;
  if (!infra) reply = CheckReply(f);
  std::optional<policy::Evaluation> engine;
  if (verdict != nullptr) {
    engine = *verdict;
  } else if (context_.policies != nullptr && !infra && !reply.reply) {
    engine = policy::EvaluateFlow(*context_.policies, f);
  }

  DecideEnforcingSide(f, engine, &c);
  if (reasoning != nullptr) note(EnforcingSideNote(f, c));
  Attribute(f, engine, context_.policies != nullptr, &c, note);

  std::optional<std::string> reply_why;
  if (reply.reply) {
    c.reply_to = reply.original;
    c.reply_basis = reply.basis;
    reply_why = reply.why;
  }
  const RuleInput in{f,
                     c,
                     *context_.tiers,
                     c.drop_reason,
                     l7,
                     infra,
                     reply_why,
                     reply.why,
                     context_.baseline != nullptr};
  c.drop_class = FirstMatchingRule(in, reasoning);
  c.severity = SeverityOf(c.drop_class);
  if (with_explanation) c.explanation = Explain(c, l7, *context_.tiers);
  return c;
}

}  // namespace tw::classify
