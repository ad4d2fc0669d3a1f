// `tierwatch policy ...`: the policy command group. `verdict` lives here; `lint` is added
// through RegisterPolicyLint (cmd_policy_lint.cc).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/policy_lint_cmd.h"
#include "cli/printer.h"
#include "common/json_text.h"
#include "common/time_format.h"
#include "flow/connection.h"
#include "nlohmann/json.hpp"
#include "policy/evaluator.h"
#include "policy/parser.h"
#include "sources/capture/capture_reader.h"

namespace tw::cli {
namespace {

using nlohmann::json;
using policy::Decision;
using policy::DirectionVerdict;
using policy::RuleRef;

struct VerdictArgs {
  std::vector<std::string> policies;
  std::vector<std::string> flows;
  std::string output = "text";
  std::string enforcement = "default";
  bool strict = false;
};

json RefJson(const RuleRef& r) {
  json j;
  j["policy"] = std::string(r.name());
  j["namespace"] = r.namespace_().empty() ? json(nullptr) : json(std::string(r.namespace_()));
  j["kind"] = std::string(policy::PolicyKindName(r.kind()));
  j["rule_index"] = r.rule_index;
  j["rule"] = r.Path();
  j["spec_index"] = r.spec_index < 0 ? json(nullptr) : json(r.spec_index);
  j["section"] = std::string(policy::SectionName(r.section));
  j["file"] = std::string(r.file());
  j["line"] = r.line;
  if (r.l7) j["l7"] = true;
  return j;
}

json RefsJson(const std::vector<RuleRef>& refs) {
  json a = json::array();
  for (const auto& r : refs) a.push_back(RefJson(r));
  return a;
}

json SideJson(const DirectionVerdict& d) {
  json j;
  j["verdict"] = std::string(policy::DecisionName(d.decision));
  j["enforced"] = d.enforced;
  j["default_deny"] = d.default_deny;
  j["allowed_by"] = RefsJson(d.allowed_by);
  j["denied_by"] = RefsJson(d.denied_by);
  j["default_deny_by"] = RefsJson(d.default_deny_by);
  if (d.allowed_by_localhost) j["allowed_by_localhost"] = true;
  j["undecided_reason"] = d.undecided_reason.empty() ? json(nullptr) : json(d.undecided_reason);
  return j;
}

json EndpointJson(const flow::Endpoint& ep, const std::string& ip) {
  json j;
  j["namespace"] = ep.namespace_.empty() ? json(nullptr) : json(ep.namespace_.str());
  j["pod"] = ep.pod_name.empty() ? json(nullptr) : json(ep.pod_name.str());
  absl::string_view workload = ep.WorkloadName();
  if (!workload.empty()) j["workload"] = std::string(workload);
  absl::string_view entity = flow::ReservedEntityName(ep.reserved);
  if (!entity.empty()) j["entity"] = std::string(entity);
  j["identity"] = ep.identity;
  j["ip"] = ip.empty() ? json(nullptr) : json(ip);
  return j;
}

std::string EndpointText(const flow::Endpoint& ep, const std::string& ip) {
  if (!ep.pod_name.empty()) return absl::StrCat(ep.namespace_.view(), "/", ep.pod_name.view());
  absl::string_view entity = flow::ReservedEntityName(ep.reserved);
  if (!entity.empty()) return ip.empty() ? std::string(entity) : absl::StrCat(entity, "(", ip, ")");
  if (!ep.namespace_.empty()) {
    absl::string_view w = ep.WorkloadName();
    return absl::StrCat(ep.namespace_.view(), "/", w.empty() ? absl::string_view("?") : w);
  }
  if (!ip.empty()) return ip;
  return absl::StrCat("ID:", ep.identity);
}

std::string PortText(const flow::Flow& f) {
  if (f.l4.protocol == flow::Protocol::kICMPv4 || f.l4.protocol == flow::Protocol::kICMPv6) {
    return absl::StrCat(flow::ProtocolName(f.l4.protocol), " type ", f.l4.icmp_type);
  }
  return absl::StrCat(f.l4.destination_port, "/", flow::ProtocolName(f.l4.protocol));
}

std::string RefsText(const std::vector<RuleRef>& refs) {
  std::vector<std::string> parts;
  for (const auto& r : refs) {
    std::string name = r.policy ? r.policy->DisplayName() : "?";
    parts.push_back(absl::StrCat(name, " ", r.Path()));
  }
  return absl::StrJoin(parts, ", ");
}

std::string SideText(absl::string_view label, const DirectionVerdict& d) {
  if (!d.enforced) return absl::StrCat(label, " not enforced");
  switch (d.decision) {
    case Decision::kAllowed:
      if (d.allowed_by_localhost) return absl::StrCat(label, " allowed (from local host)");
      if (d.allowed_by.empty()) return absl::StrCat(label, " allowed (no default-deny)");
      return absl::StrCat(label, " allowed by ", RefsText(d.allowed_by));
    case Decision::kDenied:
      if (!d.denied_by.empty()) return absl::StrCat(label, " denied by ", RefsText(d.denied_by));
      if (d.default_deny_by.empty()) return absl::StrCat(label, " default-deny (enforcement mode)");
      return absl::StrCat(label, " default-deny by ", RefsText(d.default_deny_by));
    case Decision::kUndecided:
      return absl::StrCat(label, " undecided: ", d.undecided_reason);
  }
  return "";
}

// The flow in its connection's original direction, for a reply: the peers, addresses,
// names and ports swapped; an ICMP echo reply becomes its request. nullopt when the
// original cannot be rebuilt (ICMP errors, which conntrack relates to some connection).
std::optional<flow::Flow> OriginalOf(const flow::Flow& reply) {
  flow::Flow f = reply;
  std::swap(f.source, f.destination);
  std::swap(f.source_ip, f.destination_ip);
  std::swap(f.source_names, f.destination_names);
  std::swap(f.l4.source_port, f.l4.destination_port);
  f.source_service = flow::Service();
  f.destination_service = flow::Service();
  if (f.traffic_direction == flow::TrafficDirection::kIngress) {
    f.traffic_direction = flow::TrafficDirection::kEgress;
  } else if (f.traffic_direction == flow::TrafficDirection::kEgress) {
    f.traffic_direction = flow::TrafficDirection::kIngress;
  }
  f.is_reply = false;
  if (f.l4.protocol == flow::Protocol::kICMPv4 || f.l4.protocol == flow::Protocol::kICMPv6) {
    if (f.l4.protocol == flow::Protocol::kICMPv4 && reply.l4.icmp_type == 0) {
      f.l4.icmp_type = 8;
    } else if (f.l4.protocol == flow::Protocol::kICMPv6 && reply.l4.icmp_type == 129) {
      f.l4.icmp_type = 128;
    } else {
      return std::nullopt;
    }
  }
  return f;
}

constexpr const char* kVerdictCmd = "tierwatch policy verdict";

// Loads the policies, reporting on stderr what was wrong with them (errors and warnings;
// infos are for lint) and an empty set: flows are still judged then, as Cilium would.
absl::StatusOr<policy::LoadedPolicies> LoadVerdictPolicies(const VerdictArgs& args) {
  auto loaded = policy::LoadPolicies(args.policies);
  if (!loaded.ok()) return loaded.status();
  for (const auto& d : loaded->diagnostics) {
    if (d.severity != tw::Severity::kInfo) std::cerr << d.ToString() << "\n";
  }
  if (loaded->HasErrors()) {
    std::cerr << kVerdictCmd << ": " << loaded->rejected.size() << " polic"
              << (loaded->rejected.size() == 1 ? "y" : "ies")
              << " with errors excluded; evaluating the other " << loaded->policies.size() << "\n";
  }
  if (loaded->policies.empty()) {
    // Cilium's answer for endpoints no policy selects: nothing is enforced.
    std::cerr << kVerdictCmd << ": warning: no policy loaded from "
              << absl::StrJoin(args.policies, " ")
              << ": every endpoint is unselected, so flows are judged as Cilium does then"
              << (args.enforcement == "always" ? " (enforcement mode always: default-deny)"
                                               : " (ALLOWED)")
              << "\n";
  }
  return loaded;
}

policy::EvaluatorOptions VerdictEvaluatorOptions(const VerdictArgs& args) {
  policy::EvaluatorOptions opts;
  if (args.enforcement == "always") {
    opts.enforcement_mode = policy::EvaluatorOptions::EnforcementMode::kAlways;
  } else if (args.enforcement == "never") {
    opts.enforcement_mode = policy::EvaluatorOptions::EnforcementMode::kNever;
  }
  return opts;
}

// One recorded flow and the verdict the policies give it. A reply is judged as its
// connection's original direction (`original`), or left undecided when that cannot be
// rebuilt.
struct JudgedFlow {
  JudgedFlow(const flow::Flow& flow, flow::ReplyInfo r) : f(flow), reply(r) {}

  const flow::Flow& f;
  flow::ReplyInfo reply;
  bool is_reply = false;
  std::optional<flow::Flow> original;
  policy::Evaluation v;
  absl::string_view reason;  // the drop reason's name, "" when not dropped
};

// Replies are recognised as the baseline does (is_reply, TCP flags, ICMP types, server
// ports of the originals seen so far, ephemeral ports) and get their connection's verdict:
// Cilium lets replies of an allowed connection through by conntrack.
JudgedFlow Judge(const flow::Flow& f, const policy::Evaluator& eval, flow::ServerPortIndex& servers,
                 flow::SymbolTable& symbols) {
  JudgedFlow j(f, flow::InferReply(f, &servers));
  j.is_reply = j.reply.state == flow::ReplyState::kReply;
  if (j.is_reply) {
    j.original = OriginalOf(f);
  } else if (auto key = flow::KeyAsSeen(f, symbols, nullptr)) {
    servers.Add(*key);
  }
  if (j.is_reply && !j.original) {
    j.v.decision = Decision::kUndecided;
    j.v.undecided_reason =
        "an ICMP error related to a connection: Cilium lets it through when the connection "
        "is allowed";
  } else {
    j.v = policy::EvaluateFlow(eval, j.original ? *j.original : f);
  }
  j.reason = j.v.drop_reason ? flow::DropReasonName(j.v.drop_reason) : "";
  return j;
}

json VerdictJson(const JudgedFlow& jf) {
  const flow::Flow& f = jf.f;
  const policy::Evaluation& v = jf.v;
  json j;
  j["uuid"] = f.uuid;
  j["time"] = FormatRfc3339(f.time);
  j["source"] = EndpointJson(f.source, f.source_ip);
  j["destination"] = EndpointJson(f.destination, f.destination_ip);
  j["protocol"] = std::string(flow::ProtocolName(f.l4.protocol));
  j["port"] = f.l4.destination_port;
  if (f.l4.protocol == flow::Protocol::kICMPv4 || f.l4.protocol == flow::Protocol::kICMPv6) {
    j["icmp_type"] = f.l4.icmp_type;
  }
  if (!f.destination_names.empty()) {
    json names = json::array();
    for (const auto& n : f.destination_names) names.push_back(n.str());
    j["destination_names"] = names;
  }
  j["recorded_verdict"] = std::string(flow::VerdictName(f.verdict));
  j["reply"] = jf.is_reply;
  if (jf.is_reply) {
    j["reply_basis"] = std::string(flow::ReplyBasisName(jf.reply.basis));
    if (jf.original) {
      j["connection"] = {
          {"source", EndpointJson(jf.original->source, jf.original->source_ip)},
          {"destination", EndpointJson(jf.original->destination, jf.original->destination_ip)},
          {"port", jf.original->l4.destination_port}};
    }
  }
  j["verdict"] = std::string(policy::DecisionName(v.decision));
  j["reason"] = jf.reason.empty() ? json(nullptr) : json(std::string(jf.reason));
  j["undecided_reason"] = v.undecided_reason.empty() ? json(nullptr) : json(v.undecided_reason);
  j["denied_at"] =
      v.denied_at ? json(std::string(policy::DirectionName(*v.denied_at))) : json(nullptr);
  j["egress"] = SideJson(v.egress);
  j["ingress"] = SideJson(v.ingress);
  return j;
}

// Why the verdict: the deciding side for a denial, the reason for undecided, both sides for
// an allow.
std::string VerdictDetail(const JudgedFlow& jf) {
  const policy::Evaluation& v = jf.v;
  if (v.decision == Decision::kDenied) {
    return absl::StrCat(jf.reason, " at ", policy::DirectionName(*v.denied_at), " (",
                        SideText(policy::DirectionName(*v.denied_at),
                                 *v.denied_at == policy::Direction::kEgress ? v.egress : v.ingress),
                        ")");
  }
  if (v.decision == Decision::kUndecided) return absl::StrCat("(", v.undecided_reason, ")");
  return absl::StrCat("(", SideText("egress", v.egress), "; ", SideText("ingress", v.ingress), ")");
}

std::string VerdictLine(const JudgedFlow& jf) {
  const flow::Flow& f = jf.f;
  std::string line = absl::StrCat(FormatRfc3339(f.time), " ", EndpointText(f.source, f.source_ip),
                                  " -> ", EndpointText(f.destination, f.destination_ip), " ",
                                  PortText(f), ": ", policy::DecisionName(jf.v.decision));
  std::string detail = VerdictDetail(jf);
  if (jf.is_reply && jf.original) {
    absl::StrAppend(&line, " as the reply of ",
                    EndpointText(jf.original->source, jf.original->source_ip), " -> ",
                    EndpointText(jf.original->destination, jf.original->destination_ip), " ",
                    PortText(*jf.original), ", whose verdict it takes: ", detail);
  } else if (jf.is_reply) {
    absl::StrAppend(&line, " reply ", detail);
  } else {
    absl::StrAppend(&line, " ", detail);
  }
  return line;
}

struct VerdictTotals {
  uint64_t replies = 0;
  uint64_t by_decision[3] = {0, 0, 0};  // allowed, denied, undecided

  void Count(const JudgedFlow& jf) {
    if (jf.is_reply) ++replies;
    const Decision d = jf.v.decision;
    ++by_decision[d == Decision::kAllowed ? 0 : d == Decision::kDenied ? 1 : 2];
  }
  // On stderr, so that stdout stays one line a flow for grep.
  void Print() const {
    uint64_t total = by_decision[0] + by_decision[1] + by_decision[2];
    std::cerr << kVerdictCmd << ": " << total << " flow" << (total == 1 ? "" : "s") << ": "
              << by_decision[0] << " ALLOWED, " << by_decision[1] << " DENIED, " << by_decision[2]
              << " UNDECIDED";
    if (replies > 0) {
      std::cerr << " (" << replies << " repl" << (replies == 1 ? "y" : "ies")
                << " judged by the verdict of " << (replies == 1 ? "its" : "their")
                << " connection)";
    }
    std::cerr << "\n";
  }
};

int RunVerdict(const VerdictArgs& args) {
  auto loaded = LoadVerdictPolicies(args);
  if (!loaded.ok()) {
    std::cerr << kVerdictCmd << ": " << loaded.status().message() << "\n";
    return kExitUsage;
  }
  policy::Evaluator eval(loaded->policies, VerdictEvaluatorOptions(args));

  flow::SymbolTable symbols;
  sources::CaptureOptions copts;
  copts.strict = args.strict;
  copts.errors = &std::cerr;
  sources::CaptureReader reader(args.flows, symbols, copts);
  flow::ServerPortIndex servers;
  const bool as_json = args.output == "json";
  std::ostream& out = std::cout;
  VerdictTotals totals;
  absl::Status st = reader.Run([&](flow::Event&& ev) {
    if (!ev.flow) return true;  // lost events and node status carry no connection
    JudgedFlow jf = Judge(*ev.flow, eval, servers, symbols);
    totals.Count(jf);
    if (as_json) {
      out << tw::DumpJson(VerdictJson(jf)) << "\n";
    } else {
      out << EscapeTerminal(VerdictLine(jf)) << "\n";
    }
    return true;
  });
  out.flush();
  if (!st.ok()) {
    std::cerr << kVerdictCmd << ": " << st.message() << "\n";
    return kExitUsage;
  }
  if (!as_json) totals.Print();
  return kExitOk;
}

void RegisterVerdict(CLI::App* policy_cmd, CommandContext& ctx) {
  auto args = std::make_shared<VerdictArgs>();
  CLI::App* cmd = policy_cmd->add_subcommand(
      "verdict", "Would these policies allow each recorded flow, and which rule decides");
  cmd->footer(
      "Evaluates recorded flows against CNP/CCNP/KNP files, ignoring the verdicts the flows\n"
      "carry, and names the policy and rule that decided each side.\n\n"
      "One line per flow, in input order (lost-event and node-status lines are skipped).\n"
      "Each flow is judged as Cilium would: egress at the source AND ingress at the\n"
      "destination must allow; a deny rule wins (POLICY_DENY, 181); no allow under\n"
      "default-deny is POLICY_DENIED (133); a flow that policy never sees or that the flow\n"
      "record cannot decide is UNDECIDED with a reason.\n\n"
      "Assumptions:\n"
      "  - policy enforcement mode `default` (change with --enforcement-mode)\n"
      "  - traffic from the local host is always allowed in (allow-localhost=always)\n"
      "  - no host firewall: nodeSelector policies are not enforced, the host is never a subject\n"
      "  - toFQDNs is matched against the flow's destination_names (names Cilium's DNS proxy\n"
      "    saw); CIDR rules against the flow's IPs and only for world/CIDR identities\n"
      "  - a reply (is_reply, SYN-ACK, echo reply, a known server port answering) gets its\n"
      "    connection's verdict, as conntrack lets replies of allowed connections through;\n"
      "    the line says it is a reply (json: \"reply\": true and the connection)\n"
      "  - named ports, toServices without a recorded service, CIDR groups are UNDECIDED\n"
      "  - L7 rules are not enforced (an allow with L7 rules counts as an L3/L4 allow)\n\n"
      "A policy file with errors is reported on stderr (file:line) and left out; the others\n"
      "are evaluated. With no policy at all every endpoint is unselected and flows are judged\n"
      "as Cilium does then (ALLOWED), with a warning. Exit 0 whatever the verdicts; 2 when\n"
      "a path is missing or input is unreadable.\n\n"
      "Examples:\n"
      "  tierwatch policy verdict --policies deploy/network-policies --capture before.jsonl\n"
      "  hubble observe -o jsonpb --last 1000 | tierwatch policy verdict --policies p/ "
      "--capture - -o json\n"
      "  tierwatch policy verdict --policies p/ --capture a.jsonl -o json | jq "
      "'select(.verdict==\"DENIED\")'");
  AddPoliciesOption(cmd, &args->policies)->required();
  AddCaptureOption(cmd, &args->flows, "--capture,--flows")->required();
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->add_option("--enforcement-mode", args->enforcement,
                  "Cilium policy enforcement mode: default|always|never")
      ->check(CLI::IsMember({"default", "always", "never"}))
      ->capture_default_str();
  cmd->add_flag("--strict", args->strict, "Stop at the first malformed flow line (exit 2)");
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunVerdict(*args); }; });
}

}  // namespace

void RegisterPolicy(CLI::App& app, CommandContext& ctx) {
  CLI::App* policy_cmd = app.add_subcommand(
      "policy", "Cilium policies offline: verdict (evaluate flows), lint (find mistakes)");
  policy_cmd->require_subcommand(1);
  RegisterVerdict(policy_cmd, ctx);
  RegisterPolicyLint(policy_cmd, ctx);
}

}  // namespace tw::cli
