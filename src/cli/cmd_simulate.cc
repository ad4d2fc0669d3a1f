// `tierwatch simulate`: which of today's connections (a baseline, or captures taken as
// legitimate) would a policy set drop? The CI gate for a GitOps repository of policies.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "baseline/persist.h"
#include "classify/inputs.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/json_text.h"
#include "simulate/render.h"
#include "simulate/simulate.h"
#include "sources/capture/capture_reader.h"

namespace tw::cli {
namespace {

struct SimulateArgs {
  std::vector<std::string> policies;
  std::string baseline;
  std::vector<std::string> captures;
  std::string tiers;
  std::string output = "text";
  bool strict = false;
  size_t max_listed = 200;
  std::string fail_on = "critical,high";
};

int RunSimulate(const SimulateArgs& args) {
  if (args.baseline.empty() && args.captures.empty()) {
    std::cerr << "tierwatch simulate: give the connections to test: --baseline FILE or "
                 "--capture FILE...\n";
    return kExitUsage;
  }
  auto fail_on = simulate::ParseFailOn(args.fail_on);
  if (!fail_on.ok()) {
    std::cerr << "tierwatch simulate: " << fail_on.status().message() << "\n";
    return kExitUsage;
  }
  flow::SymbolTable symbols;
  // The baseline is loaded into the connection set below, not into the classifier inputs.
  auto inputs = classify::LoadInputs({args.tiers, "", args.policies}, symbols);
  if (!inputs.ok()) {
    std::cerr << "tierwatch simulate: " << inputs.status().message() << "\n";
    return kExitUsage;
  }
  for (const auto& d : inputs->policy_notes) std::cerr << d.ToString() << "\n";

  simulate::ConnectionSet set(symbols);
  std::vector<std::string> sources;
  if (!args.captures.empty()) {
    sources::CaptureOptions copts;
    copts.strict = args.strict;
    copts.errors = &std::cerr;
    sources::CaptureReader reader(args.captures, symbols, copts);
    absl::Status st = reader.Run([&](flow::Event&& ev) {
      set.Observe(ev);
      return true;
    });
    if (!st.ok()) {
      std::cerr << "tierwatch simulate: " << st.message() << "\n";
      return kExitUsage;
    }
    if (reader.stats().events == 0 && reader.stats().malformed > 0) {
      std::cerr << "tierwatch simulate: no readable flow in " << absl::StrJoin(args.captures, " ")
                << "\n";
      return kExitUsage;
    }
    sources.push_back(absl::StrCat(set.size(), " learned from ", absl::StrJoin(args.captures, ", "),
                                   " (", set.learn_stats().replies, " replies skipped)"));
  }
  if (!args.baseline.empty()) {
    auto b = baseline::LoadBaselineAny(args.baseline, symbols);
    if (!b.ok()) {
      std::cerr << "tierwatch simulate: " << b.status().message() << "\n";
      return kExitUsage;
    }
    sources.push_back(absl::StrCat(b->size(), " from baseline ", args.baseline));
    set.AddBaseline(*b);
  }

  simulate::SimulationResult r =
      simulate::Simulate(set, *inputs->evaluator, *inputs->tiers, simulate::SimulateOptions{});
  if (args.output == "json") {
    nlohmann::json j = simulate::RenderJson(r, *fail_on);
    j["policies"] = args.policies;
    j["policy_count"] = inputs->policies->policies.size();
    std::cout << tw::DumpJson(j, 2) << "\n";
  } else {
    simulate::RenderOptions o;
    o.max_listed = args.max_listed;
    o.fail_on = *fail_on;
    o.title = absl::StrCat("tierwatch simulate: ", inputs->policies->policies.size(),
                           " policies from ", absl::StrJoin(args.policies, " "),
                           "\nconnections: ", absl::StrJoin(sources, "; "));
    std::cout << simulate::RenderText(r, o);
  }
  std::cout.flush();
  return r.AnyOf(*fail_on) ? kExitFindings : kExitOk;
}

}  // namespace

void RegisterSimulate(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Test policies before enforcing them: which connections that work today (a baseline, or "
      "captures taken as legitimate) would this policy set drop? The CI gate for a GitOps repo.");
  cmd->footer(
      "Every connection is evaluated as Cilium would (egress at the source AND ingress at the\n"
      "destination; deny rules win; default-deny where a selecting policy imposes it). Each\n"
      "side that would deny becomes a predicted drop, classified like `tierwatch analyze`\n"
      "classifies AUDIT verdicts (tier0_violation, dns_blocked, platform_blocked,\n"
      "baseline_regression, ...), and is grouped by class and by the policy responsible (the\n"
      "deny rule, else the policies that put the endpoint into default-deny).\n\n"
      "Connections from --capture are learned like a baseline (replies skipped). Workloads are\n"
      "judged with their real labels: the labels all their pods were seen with, which the\n"
      "baseline keeps (snapshot and exported document). Only a baseline written before\n"
      "tierwatch kept labels leaves workloads without them; those get labels made up from\n"
      "their names (app.kubernetes.io/name=<workload>), which the output marks. Give both\n"
      "--baseline and --capture to test such a baseline with the captures' labels.\n\n"
      "Assumptions as in `tierwatch policy verdict`: enforcement mode default, host traffic\n"
      "allowed in, no host firewall, toFQDNs against the names the captures saw, L7 not "
      "enforced.\n\n"
      "Exit 1 when anything critical or high would break (--fail-on changes which severities\n"
      "or classes fail), 0 otherwise, 2 on bad input (unreadable files, a policy with errors:\n"
      "run `tierwatch policy lint`).\n\n"
      "Examples:\n"
      "  tierwatch simulate --policies deploy/network-policies/app --capture before.jsonl\n"
      "  tierwatch simulate --policies kubernetes/apps/security --baseline baseline.yaml -o json\n"
      "  # CI: fail the merge when the change would break Tier 0/1, DNS or known traffic\n"
      "  tierwatch simulate --policies $CHANGED_DIR --baseline docs/baseline.yaml || exit 1\n"
      "  # platform repo whose app teams ship their own policies later: gate Tier 0/1 and DNS\n"
      "  tierwatch simulate --policies platform/ --capture before.jsonl \\\n"
      "    --fail-on critical,platform_blocked,metrics_scrape_blocked,bypass_ineffective");
  AddPoliciesOption(cmd, &args->policies)->required();
  cmd->add_option("--baseline", args->baseline,
                  "Connections to test: a baseline snapshot or exported document")
      ->type_name("FILE");
  AddCaptureOption(cmd, &args->captures);
  cmd->add_option("--tiers", args->tiers,
                  "Tier model file; default: the built-in tier model (see config/tiers.yaml)")
      ->type_name("FILE");
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->add_option("--max-listed", args->max_listed,
                  "Would-be drops listed in text output (default 200)")
      ->type_name("N");
  cmd->add_option("--fail-on", args->fail_on,
                  "Severities and/or classes that fail the gate (exit 1), comma-separated")
      ->type_name("LIST")
      ->capture_default_str();
  cmd->add_flag("--strict", args->strict, "Stop at the first malformed flow line (exit 2)");
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunSimulate(*args); }; });
}

}  // namespace tw::cli
