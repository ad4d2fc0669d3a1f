#include "classify/render.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/time_format.h"

namespace tw::classify {

using nlohmann::json;

namespace {

json NullIfEmpty(absl::string_view s) { return s.empty() ? json(nullptr) : json(std::string(s)); }

bool IsIcmp(flow::Protocol p) {
  return p == flow::Protocol::kICMPv4 || p == flow::Protocol::kICMPv6;
}

}  // namespace

std::vector<std::string> LabelsThatMatter(const flow::Endpoint& ep) {
  static constexpr absl::string_view kNoisePrefixes[] = {
      "k8s:io.cilium.k8s.namespace.labels.",
      "k8s:io.cilium.k8s.policy.cluster=",
      "k8s:io.kubernetes.pod.namespace=",
      "k8s:pod-template-hash=",
      "k8s:controller-revision-hash=",
      "k8s:pod-template-generation=",
      "k8s:statefulset.kubernetes.io/pod-name=",
      "k8s:batch.kubernetes.io/",
      "k8s:controller-uid=",
      "k8s:job-name=",
      "k8s:io.cilium.k8s.policy.serviceaccount=",
  };
  std::vector<std::string> out;
  for (const flow::Symbol& l : ep.labels) {
    absl::string_view s = l.view();
    bool noise = false;
    for (absl::string_view p : kNoisePrefixes) {
      if (absl::StartsWith(s, p)) {
        noise = true;
        break;
      }
    }
    if (!noise) out.emplace_back(s);
  }
  return out;
}

json PolicyRefJson(const PolicyRefInfo& r) {
  json j;
  j["policy"] = r.name;
  j["namespace"] = NullIfEmpty(r.namespace_);
  j["kind"] = NullIfEmpty(r.kind);
  j["rule"] = NullIfEmpty(r.rule);
  j["file"] = NullIfEmpty(r.file);
  j["line"] = r.line == 0 ? json(nullptr) : json(r.line);
  return j;
}

json AttributionJson(const Attribution& a) {
  auto refs = [](const std::vector<PolicyRefInfo>& v) {
    json arr = json::array();
    for (const auto& r : v) arr.push_back(PolicyRefJson(r));
    return arr;
  };
  json j;
  j["evaluated"] = a.evaluated;
  if (a.evaluated) {
    j["verdict"] = std::string(policy::DecisionName(a.decision));
    j["side_verdict"] = std::string(policy::DecisionName(a.side_decision));
    j["denied_at"] =
        a.denied_at ? json(std::string(policy::DirectionName(*a.denied_at))) : json(nullptr);
    absl::string_view reason = flow::DropReasonName(a.engine_drop_reason);
    j["reason"] = a.engine_drop_reason == 0 ? json(nullptr) : json(std::string(reason));
    j["undecided_reason"] = NullIfEmpty(a.undecided_reason);
  }
  j["denied_by"] = refs(a.denied_by);
  j["default_deny_by"] = refs(a.default_deny_by);
  if (!a.allowed_by.empty()) j["allowed_by"] = refs(a.allowed_by);
  j["hubble_denied_by"] = refs(a.hubble_denied_by);
  j["policy_match_type"] = a.policy_match_type;
  json resp = json::array();
  for (const PolicyRefInfo* r : a.Responsible()) {
    std::string n = r->DisplayName();
    if (std::find(resp.begin(), resp.end(), json(n)) == resp.end()) resp.push_back(n);
  }
  j["responsible"] = resp;
  return j;
}

json EndpointJson(const flow::Endpoint& ep, const std::string& ip, const EndpointFacts& facts) {
  json j;
  j["namespace"] = NullIfEmpty(ep.namespace_.view());
  j["workload"] = NullIfEmpty(ep.WorkloadName());
  j["pod"] = NullIfEmpty(ep.pod_name.view());
  j["identity"] = ep.identity;
  j["labels"] = LabelsThatMatter(ep);
  absl::string_view entity = flow::ReservedEntityName(ep.reserved & ~flow::kReservedUnknown);
  j["entity"] = NullIfEmpty(entity);
  j["tier"] = facts.tier.level >= 0 ? json(facts.tier.level) : json(nullptr);
  j["tier_name"] = NullIfEmpty(facts.tier.name);
  j["ip"] = NullIfEmpty(ip);
  j["peer"] = facts.peer.ToString();
  if (facts.bypass) j["bypass"] = true;
  return j;
}

json ClassificationJson(const Classification& c) {
  const flow::Flow& f = c.flow;
  json j;
  j["id"] = c.id;
  j["class"] = std::string(DropClassName(c.drop_class));
  j["severity"] = std::string(SeverityName(c.severity));
  j["predicted"] = c.predicted;
  j["time"] = FormatRfc3339(f.time);
  j["node"] = NullIfEmpty(f.node_name.view());
  j["verdict"] = std::string(flow::VerdictName(f.verdict));
  j["uuid"] = NullIfEmpty(f.uuid);
  j["twin_uuid"] = NullIfEmpty(c.twin_uuid);
  j["enforcing_side"] = std::string(SideName(c.enforcing_side));
  j["enforcing_side_basis"] = std::string(SideBasisName(c.side_basis));
  j["traffic_direction"] = f.traffic_direction == flow::TrafficDirection::kUnknown
                               ? json(nullptr)
                               : json(std::string(flow::TrafficDirectionName(f.traffic_direction)));
  j["source"] = EndpointJson(f.source, f.source_ip, c.source);
  j["destination"] = EndpointJson(f.destination, f.destination_ip, c.destination);
  if (!f.destination_names.empty()) {
    json names = json::array();
    for (const auto& n : f.destination_names) names.push_back(n.str());
    j["destination_names"] = names;
  }
  j["protocol"] = std::string(flow::ProtocolName(f.l4.protocol));
  if (IsIcmp(f.l4.protocol)) {
    j["port"] = nullptr;
    j["icmp_type"] = f.l4.icmp_type;
  } else {
    j["port"] = f.l4.destination_port;
    j["source_port"] = f.l4.source_port;
  }
  j["connection"] = c.connection ? json(c.connection->ToString()) : json(nullptr);
  if (c.reply_to) {
    j["reply_to"] = c.reply_to->ToString();
    j["reply_basis"] = std::string(flow::ReplyBasisName(c.reply_basis));
  }
  j["drop_reason"] =
      c.drop_reason == 0 ? json(nullptr) : json(std::string(flow::DropReasonName(c.drop_reason)));
  if (f.type == flow::FlowType::kL7 || f.event_type == flow::kEventL7) {
    json l7;
    if (f.l7 && f.l7->dns) {
      l7["dns_query"] = f.l7->dns->query;
      l7["dns_rcode"] = f.l7->dns->rcode;
    }
    if (f.l7 && f.l7->http) {
      l7["http_method"] = f.l7->http->method;
      l7["http_url"] = f.l7->http->url;
      l7["http_code"] = f.l7->http->code;
    }
    j["l7"] = l7.is_null() ? json::object() : l7;
  }
  j["in_baseline"] = c.in_baseline;
  j["baseline_since"] = c.in_baseline ? json(FormatRfc3339(c.baseline_since)) : json(nullptr);
  j["policy"] = AttributionJson(c.attribution);
  j["explanation"] = c.explanation;
  if (!c.reasoning.empty()) j["reasoning"] = c.reasoning;
  return j;
}

// --- Text report --------------------------------------------------------------------------

namespace {

std::string SidesText(const ConnectionCount& cc) {
  std::vector<std::string> s;
  if (cc.side_events[0]) s.push_back("source");
  if (cc.side_events[1]) s.push_back("destination");
  return absl::StrJoin(s, "+");
}

}  // namespace

std::string RenderReport(const AggregateSnapshot& counts,
                         const std::vector<BypassedEndpoint>& bypassed, absl::Time now,
                         const ReportOptions& options) {
  std::string out;
  if (!options.title.empty()) absl::StrAppend(&out, options.title, "\n\n");
  const bool any_predicted = counts.predicted_events > 0;
  absl::StrAppendFormat(&out, "%-24s %-9s %8s %s%12s\n", "CLASS", "SEVERITY", "EVENTS",
                        any_predicted ? absl::StrFormat("%10s ", "PREDICTED") : "", "CONNECTIONS");
  uint64_t total_conn = 0;
  for (DropClass c : AllDropClasses()) {
    const ClassTotals& t = counts.of(c);
    total_conn += t.connections;
    absl::StrAppendFormat(
        &out, "%-24s %-9s %8d %s%12d\n", DropClassName(c), SeverityName(SeverityOf(c)), t.events,
        any_predicted ? absl::StrFormat("%10d ", t.predicted_events) : "", t.connections);
  }
  absl::StrAppendFormat(&out, "%-24s %-9s %8d %s%12d\n", "total", "", counts.events,
                        any_predicted ? absl::StrFormat("%10d ", counts.predicted_events) : "",
                        total_conn);

  bool any = false;
  for (DropClass c : AllDropClasses()) {
    auto top = counts.Top(c, options.top_connections);
    if (top.empty()) continue;
    if (!any) absl::StrAppend(&out, "\nTop connections per class (events, enforcing side):\n");
    any = true;
    absl::StrAppend(&out, "  ", DropClassName(c), " (", SeverityName(SeverityOf(c)), ")\n");
    for (const ConnectionCount* cc : top) {
      absl::StrAppendFormat(&out, "    %6d  %s  [%s]%s\n", cc->events, cc->connection,
                            SidesText(*cc), cc->in_baseline ? " in baseline" : "");
    }
    size_t all = counts.Top(c).size();
    if (all > top.size()) absl::StrAppend(&out, "    ... ", all - top.size(), " more\n");
  }
  if (!any) absl::StrAppend(&out, "\nNo DROPPED or AUDIT flows.\n");

  bool header = false;
  for (DropClass c : AllDropClasses()) {
    DropSeverity sev = SeverityOf(c);
    if (sev != DropSeverity::kCritical && sev != DropSeverity::kHigh) continue;
    for (const ConnectionCount* cc : counts.Top(c)) {
      if (!header) {
        absl::StrAppend(&out, "\nCritical and high (per connection; ", options.explain_hint,
                        " for the full reasoning):\n");
        header = true;
      }
      absl::StrAppend(
          &out, "\n[", SeverityName(sev), "] ", DropClassName(c), "  ", cc->connection, "  ",
          cc->events, " event", cc->events == 1 ? "" : "s",
          cc->predicted_events ? absl::StrCat(" (", cc->predicted_events, " AUDIT)") : "",
          "  nodes: ", absl::StrJoin(cc->nodes, ", "), "\n");
      for (int s = 0; s < 2; ++s) {
        if (cc->side_events[s] == 0) continue;
        absl::StrAppend(&out, "    ", cc->explanation[s], "\n    (id ", cc->example_id[s],
                        ", enforced at the ", SideName(static_cast<Side>(s)), ")\n");
      }
      if (!cc->policies.empty()) {
        absl::StrAppend(&out, "    policies: ", absl::StrJoin(cc->policies, ", "), "\n");
      }
    }
  }
  if (!header) absl::StrAppend(&out, "\nNothing critical or high.\n");

  absl::StrAppend(&out, "\nBypassed endpoints",
                  options.bypass_label.empty() ? "" : absl::StrCat(" (", options.bypass_label, ")"),
                  ": ", bypassed.empty() ? "none seen" : "", "\n");
  for (const BypassedEndpoint& b : bypassed) {
    absl::StrAppend(&out, "  ", b.Name(), "  bypassed since ", FormatRfc3339(b.first_seen), " (",
                    FormatAge(now - b.first_seen), "), ", b.flows, " flow", b.flows == 1 ? "" : "s",
                    ", ", b.drops, " drop", b.drops == 1 ? "" : "s", " enforced on it\n");
  }
  return out;
}

std::string RenderExplain(const Classification& c) {
  const flow::Flow& f = c.flow;
  std::string out;
  absl::StrAppend(&out, "drop ", c.id, ": ", DropClassName(c.drop_class), " (",
                  SeverityName(c.severity), ")", c.predicted ? ", predicted (AUDIT)" : "", "\n");
  absl::StrAppend(&out, "  time        ", FormatRfc3339(f.time), " on ", f.node_name.view(), "\n");
  absl::StrAppend(
      &out, "  event       ", flow::VerdictName(f.verdict), ", event type ", f.event_type,
      f.uuid.empty() ? "" : absl::StrCat(", uuid ", f.uuid),
      c.twin_uuid.empty() ? "" : absl::StrCat(" (policy-verdict twin ", c.twin_uuid, ")"), "\n");
  absl::StrAppend(&out, "  connection  ", c.ConnectionText(), "\n");
  absl::StrAppend(
      &out, "  source      ", c.source.peer.ToString(), " ",
      f.source.pod_name.empty() ? "" : absl::StrCat("pod ", f.source.pod_name.view(), " "),
      "identity ", f.source.identity, ", ", c.source.tier.ToString(),
      f.source_ip.empty() ? "" : absl::StrCat(", ", f.source_ip), "\n");
  absl::StrAppend(&out, "  destination ", c.destination.peer.ToString(), " ",
                  f.destination.pod_name.empty()
                      ? ""
                      : absl::StrCat("pod ", f.destination.pod_name.view(), " "),
                  "identity ", f.destination.identity, ", ", c.destination.tier.ToString(),
                  f.destination_ip.empty() ? "" : absl::StrCat(", ", f.destination_ip), "\n");
  absl::StrAppend(&out, "  drop reason ",
                  c.drop_reason == 0
                      ? std::string("(none: policy verdict)")
                      : absl::StrCat(flow::DropReasonName(c.drop_reason), " (", c.drop_reason, ")"),
                  "\n");
  absl::StrAppend(&out, "  enforcing   ", SideName(c.enforcing_side), " (",
                  SideBasisName(c.side_basis), ")\n");
  absl::StrAppend(&out, "  baseline    ",
                  c.in_baseline ? absl::StrCat("yes, since ", FormatRfc3339(c.baseline_since), ", ",
                                               c.baseline_count, " flows")
                                : std::string("no"),
                  "\n");
  if (c.reply_to) absl::StrAppend(&out, "  reply to    ", c.reply_to->ToString(), "\n");
  if (!c.reasoning.empty()) {
    absl::StrAppend(&out, "\nReasoning:\n");
    for (const std::string& r : c.reasoning) absl::StrAppend(&out, "  - ", r, "\n");
  }
  const Attribution& a = c.attribution;
  absl::StrAppend(&out, "\nPolicy:\n");
  if (a.evaluated) {
    absl::StrAppend(&out, "  engine verdict ", policy::DecisionName(a.decision),
                    a.denied_at ? absl::StrCat(" at ", policy::DirectionName(*a.denied_at)) : "",
                    "; at the enforcing side ", policy::DecisionName(a.side_decision),
                    a.undecided_reason.empty() ? "" : absl::StrCat(" (", a.undecided_reason, ")"),
                    "\n");
  } else {
    absl::StrAppend(&out, "  not evaluated (no --policies, or not a policy drop)\n");
  }
  for (const auto& r : a.denied_by) absl::StrAppend(&out, "  denied by       ", r.ToString(), "\n");
  for (const auto& r : a.default_deny_by) {
    absl::StrAppend(&out, "  default-deny by ", r.ToString(), "\n");
  }
  for (const auto& r : a.allowed_by)
    absl::StrAppend(&out, "  allowed by      ", r.ToString(), "\n");
  for (const auto& r : a.hubble_denied_by) {
    absl::StrAppend(&out, "  Hubble: denied by ", r.ToString(), "\n");
  }
  if (a.policy_match_type != 0) {
    absl::StrAppend(&out, "  policy_match_type ", a.policy_match_type, "\n");
  }
  absl::StrAppend(&out, "\nExplanation:\n  ", c.explanation, "\n");
  return out;
}

}  // namespace tw::classify
