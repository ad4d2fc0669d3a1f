// `tierwatch policy lint PATH... [--policies PATH...] [--tiers FILE] [-o text|json]`: the
// CI gate for a GitOps repository's Cilium policies. Exit 1 when any finding is an error.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/policy_lint_cmd.h"
#include "cli/printer.h"
#include "common/json_text.h"
#include "nlohmann/json.hpp"
#include "policy/lint.h"
#include "policy/parser.h"
#include "suggest/prove.h"
#include "tier/tier_config.h"

namespace tw::cli {
namespace {

struct LintArgs {
  std::vector<std::string> paths;     // positional
  std::vector<std::string> policies;  // --policies
  std::string tiers;
  std::string output = "text";
};

nlohmann::ordered_json FindingsJson(const policy::LintFindings& findings) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Diagnostic& f : findings) a.push_back(f.ToJson());
  return a;
}

int RunLint(const LintArgs& args) {
  std::vector<std::string> paths = args.paths;
  paths.insert(paths.end(), args.policies.begin(), args.policies.end());
  if (paths.empty()) {
    std::cerr << "tierwatch policy lint: no policy files given (PATH... or --policies PATH...)\n";
    return kExitUsage;
  }
  policy::LintOptions options;
  if (!args.tiers.empty()) {
    auto model = tier::LoadTierModel(args.tiers);
    if (!model.ok()) {
      std::cerr << "tierwatch policy lint: --tiers " << args.tiers << ": "
                << model.status().message() << "\n";
      return kExitUsage;
    }
    options = suggest::LintOptionsFor(*model);  // the one conversion, as suggest's proofs use
  }
  auto loaded = policy::LoadPolicies(paths);
  if (!loaded.ok()) {
    std::cerr << "tierwatch policy lint: " << loaded.status().message() << "\n";
    return kExitUsage;
  }
  if (loaded->policies.empty() && loaded->rejected.empty() && !loaded->HasErrors()) {
    std::cerr << "tierwatch policy lint: no CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy "
                 "or NetworkPolicy found in "
              << loaded->files.size() << " file(s)\n";
    return kExitUsage;
  }
  policy::LintFindings findings = policy::Lint(*loaded, options);
  if (args.output == "json") {
    std::cout << tw::DumpJson(FindingsJson(findings), 2) << "\n";
  } else {
    for (const auto& f : findings) std::cout << EscapeTerminal(f.ToString()) << "\n";
    policy::LintSummary s = policy::Summarize(findings);
    std::cout << s.errors << " error(s), " << s.warnings << " warning(s), " << s.infos
              << " info in " << loaded->policies.size() + loaded->rejected.size()
              << " policies from " << loaded->files.size() << " file(s)"
              << (s.errors > 0 ? ": lint failed" : "") << "\n";
  }
  return HasErrors(findings) ? kExitFindings : kExitOk;
}

std::string RulesHelp() {
  std::string s;
  for (const auto& r : policy::LintRules()) {
    s += absl::StrCat("  ", r.id, " ", r.name, " (", SeverityName(r.severity), "): ", r.summary,
                      "\n");
  }
  return s;
}

}  // namespace

void RegisterPolicyLint(CLI::App* policy_cmd, CommandContext& ctx) {
  auto args = std::make_shared<LintArgs>();
  CLI::App* cmd = policy_cmd->add_subcommand(
      "lint", "Find the mistakes a zero-trust Cilium policy set makes (a CI gate)");
  cmd->footer(
      "The mistakes policies make when they combine: allows that allow nothing, default-deny\n"
      "on Tier 0, toFQDNs without DNS visibility, one-way allows, and more.\n\n"
      "Rules (docs/lint.md explains each with examples and fixes):\n" +
      RulesHelp() +
      "\nThe rules reason over selectors and rules, not names: what each selector can select\n"
      "in every namespace of the tier model (and any other), which policy puts what into\n"
      "default-deny, and whether the other end of an allow admits it. --tiers reads the tier\n"
      "model (config/tiers.yaml format); without it the built-in tier model is used: Tier 0\n"
      "kube-system, flux-system, cilium, cilium-secrets; controllers needing the\n"
      "kube-apiserver cert-manager, external-secrets, flux-system; DNS k8s-app=kube-dns in\n"
      "kube-system on 53; debug bypass label policy.cilium.io/enforce=false.\n\n"
      "Output: text prints `file:line: severity: [TWxxx rule-name] policy: message` lines and\n"
      "a summary; json prints an array of {severity, file, line, column, path (the policy),\n"
      "code (TWxxx), code_name, message}, the shape of every tierwatch diagnostic.\n"
      "Exit 0 when no finding is an error, 1 when one is (use it as a CI gate), 2 on bad\n"
      "usage, unreadable paths or tier file.\n\n"
      "Examples:\n"
      "  tierwatch policy lint deploy/network-policies\n"
      "  tierwatch policy lint kubernetes/apps/security/network-policies/app --tiers "
      "config/tiers.yaml\n"
      "  tierwatch policy lint --policies a.yaml b/ -o json | jq '.[] | "
      "select(.severity==\"error\")'");
  cmd->add_option("paths", args->paths,
                  "Policy YAML files or directories (searched recursively); same as --policies")
      ->type_name("PATH");
  AddPoliciesOption(cmd, &args->policies);
  cmd->add_option("--tiers", args->tiers, "Tier model file (config/tiers.yaml format)")
      ->type_name("FILE");
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunLint(*args); }; });
}

}  // namespace tw::cli
