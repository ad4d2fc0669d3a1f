#include "simulate/render.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "classify/render.h"

namespace tw::simulate {

using classify::DropClass;
using classify::DropSeverity;
using nlohmann::json;

namespace {

std::string ClassesText(const std::map<DropClass, uint64_t>& by_class) {
  std::vector<std::string> parts;
  for (const auto& [c, n] : by_class)
    parts.push_back(absl::StrCat(classify::DropClassName(c), " ", n));
  return absl::StrJoin(parts, ", ");
}

}  // namespace

std::string RenderText(const SimulationResult& r, const RenderOptions& o) {
  std::string out;
  if (!o.title.empty()) absl::StrAppend(&out, o.title, "\n");
  absl::StrAppend(&out, r.connections, " connections: ", r.allowed, " allowed, ", r.broken,
                  " would break, ", r.undecided_count, " undecided\n");
  if (r.synthesized > 0) {
    absl::StrAppend(&out, "note: ", r.synthesized,
                    " connections were judged with labels made up from workload names (the "
                    "baseline does not know their labels: it predates label keeping); relearn "
                    "it, or pass --capture for the real labels\n");
  }

  absl::StrAppendFormat(&out, "\n%-24s %-9s %8s %12s\n", "CLASS", "SEVERITY", "DROPS",
                        "CONNECTIONS");
  uint64_t drops = 0, conns = 0;
  for (DropClass c : classify::AllDropClasses()) {
    auto it = r.by_class.find(c);
    ClassCount cc = it == r.by_class.end() ? ClassCount{} : it->second;
    drops += cc.drops;
    conns += cc.connections;
    absl::StrAppendFormat(&out, "%-24s %-9s %8d %12d\n", classify::DropClassName(c),
                          classify::SeverityName(classify::SeverityOf(c)), cc.drops,
                          cc.connections);
  }
  absl::StrAppendFormat(&out, "%-24s %-9s %8d %12d\n", "total", "", drops, conns);

  if (!r.by_policy.empty()) {
    absl::StrAppend(&out,
                    "\nBy responsible policy (deny rules, else the policies that impose "
                    "default-deny):\n");
    for (const PolicyImpact& p : r.by_policy) {
      absl::StrAppend(&out, "  ", p.policy, " (", p.kind,
                      p.file.empty() ? "" : absl::StrCat(", ", p.file, ":", p.line), "): ", p.drops,
                      " would-be drop", p.drops == 1 ? "" : "s", " on ", p.connections,
                      " connection", p.connections == 1 ? "" : "s", " — ", ClassesText(p.by_class),
                      "\n");
    }
  }

  size_t listed = 0;
  bool header = false;
  for (int pass = 0; pass < 2; ++pass) {
    for (const WouldBreak& b : r.breaks) {
      DropSeverity s = b.drop.severity;
      bool severe = s == DropSeverity::kCritical || s == DropSeverity::kHigh;
      if ((pass == 0) != severe) continue;
      if (pass == 1 && !o.list_low) continue;
      if (listed >= o.max_listed) break;
      if (!header) {
        absl::StrAppend(&out, "\nWould break:\n");
        header = true;
      }
      ++listed;
      absl::StrAppend(
          &out, "[", classify::SeverityName(s), "] ", classify::DropClassName(b.drop.drop_class),
          "  ", b.connection.ToString(), "  at ", policy::DirectionName(b.direction),
          b.labels_synthesized ? "  (synthesized labels)" : "", "\n    ", b.drop.explanation, "\n");
    }
  }
  if (r.breaks.size() > listed) {
    absl::StrAppend(&out, "... ", r.breaks.size() - listed, " more (-o json lists them)\n");
  }
  if (r.breaks_not_kept > 0) {
    absl::StrAppend(&out, "... and ", r.breaks_not_kept,
                    " more counted above but not kept (too many to list)\n");
  }
  if (!r.undecided.empty()) {
    absl::StrAppend(&out, "\nUndecided (the policies depend on what a flow record cannot show):\n");
    for (const Undecided& u : r.undecided) {
      absl::StrAppend(&out, "  ", u.connection.ToString(), ": ", u.reason, "\n");
    }
    if (r.undecided_count > r.undecided.size()) {
      absl::StrAppend(&out, "  ... ", r.undecided_count - r.undecided.size(), " more\n");
    }
  }
  uint64_t crit = r.drops_of(DropSeverity::kCritical), high = r.drops_of(DropSeverity::kHigh);
  if (o.fail_on.empty()) {
    if (r.GateFailed()) {
      absl::StrAppend(&out, "\nFAIL: ", crit, " critical and ", high, " high would-be drop",
                      crit + high == 1 ? "" : "s",
                      " — this policy set breaks traffic that works today.\n");
    } else {
      absl::StrAppend(&out, "\nPASS: nothing critical or high would break",
                      r.broken > 0 ? absl::StrCat(" (", drops, " low/medium would-be drops)") : "",
                      ".\n");
    }
  } else {
    std::vector<std::string> names;
    uint64_t failing = 0;
    for (DropClass c : o.fail_on) {
      names.emplace_back(classify::DropClassName(c));
      auto it = r.by_class.find(c);
      if (it != r.by_class.end()) failing += it->second.drops;
    }
    absl::StrAppend(&out, failing > 0 ? "\nFAIL: " : "\nPASS: ", failing, " would-be drop",
                    failing == 1 ? "" : "s", " of the gated classes (", absl::StrJoin(names, ", "),
                    "); ", crit, " critical and ", high, " high in all.\n");
  }
  return out;
}

json RenderJson(const SimulationResult& r, const std::vector<DropClass>& fail_on) {
  json j;
  j["connections"] = r.connections;
  j["allowed"] = r.allowed;
  j["broken"] = r.broken;
  j["undecided"] = r.undecided_count;
  j["synthesized"] = r.synthesized;
  j["gate"] = (fail_on.empty() ? r.GateFailed() : r.AnyOf(fail_on)) ? "fail" : "pass";
  json totals = json::object();
  for (DropClass c : classify::AllDropClasses()) {
    auto it = r.by_class.find(c);
    ClassCount cc = it == r.by_class.end() ? ClassCount{} : it->second;
    totals[std::string(classify::DropClassName(c))] = {
        {"severity", std::string(classify::SeverityName(classify::SeverityOf(c)))},
        {"drops", cc.drops},
        {"connections", cc.connections}};
  }
  j["totals"] = totals;
  json pols = json::array();
  for (const PolicyImpact& p : r.by_policy) {
    json classes = json::object();
    for (const auto& [c, n] : p.by_class) classes[std::string(classify::DropClassName(c))] = n;
    pols.push_back({{"policy", p.policy},
                    {"kind", p.kind},
                    {"file", p.file.empty() ? json(nullptr) : json(p.file)},
                    {"line", p.line},
                    {"drops", p.drops},
                    {"connections", p.connections},
                    {"classes", classes}});
  }
  j["by_policy"] = pols;
  json breaks = json::array();
  for (const WouldBreak& b : r.breaks) {
    breaks.push_back({{"connection", b.connection.ToString()},
                      {"direction", std::string(policy::DirectionName(b.direction))},
                      {"labels_synthesized", b.labels_synthesized},
                      {"drop", classify::ClassificationJson(b.drop)}});
  }
  j["breaks"] = breaks;
  j["breaks_not_listed"] = r.breaks_not_kept;
  json und = json::array();
  for (const Undecided& u : r.undecided) {
    und.push_back({{"connection", u.connection.ToString()}, {"reason", u.reason}});
  }
  j["undecided_connections"] = und;
  return j;
}

}  // namespace tw::simulate
