// `tierwatch analyze`: classify every DROPPED and AUDIT flow of captures against the tier
// model, the baseline and (optionally) the policies; an on-call summary or one JSON object
// per counted drop; `--explain ID` for the full reasoning behind one drop.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "classify/analyzer.h"
#include "classify/inputs.h"
#include "classify/render.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/printer.h"
#include "common/json_text.h"
#include "sources/capture/capture_reader.h"

namespace tw::cli {
namespace {

struct AnalyzeArgs {
  std::vector<std::string> positional;
  std::vector<std::string> captures;
  std::string baseline;
  std::string tiers;
  std::vector<std::string> policies;
  std::string output = "text";
  std::string explain;
  bool progress = false;
  bool strict = false;
  size_t top = 5;
};

int RunAnalyze(const AnalyzeArgs& args) {
  std::vector<std::string> files = args.positional;
  files.insert(files.end(), args.captures.begin(), args.captures.end());
  if (files.empty()) {
    std::cerr << "tierwatch analyze: no capture given (CAPTURE... or --capture FILE)\n";
    return kExitUsage;
  }
  flow::SymbolTable symbols;
  auto inputs = classify::LoadInputs({args.tiers, args.baseline, args.policies}, symbols);
  if (!inputs.ok()) {
    std::cerr << "tierwatch analyze: " << inputs.status().message() << "\n";
    return kExitUsage;
  }
  for (const auto& d : inputs->policy_notes) std::cerr << d.ToString() << "\n";

  const bool as_json = args.output == "json";
  const bool explaining = !args.explain.empty();
  classify::AnalyzerOptions opts;
  opts.stream.explain = explaining;
  classify::DropAnalyzer analyzer(inputs->context(), opts);
  std::optional<classify::Classification> explained;
  analyzer.set_on_drop([&](const classify::Classification& c) {
    if (explaining) {
      if (!explained && c.id == args.explain) explained = c;
      return;
    }
    if (as_json) std::cout << tw::DumpJson(classify::ClassificationJson(c)) << "\n";
  });

  const bool progress = args.progress || isatty(fileno(stderr));
  sources::CaptureOptions copts;
  copts.strict = args.strict;
  copts.errors = &std::cerr;
  sources::CaptureReader reader(files, symbols, copts);
  uint64_t flows = 0;
  absl::Status st = reader.Run([&](flow::Event&& ev) {
    if (!ev.flow) return true;
    analyzer.OnFlow(*ev.flow);
    if (progress && ++flows % 100000 == 0) {
      std::cerr << "tierwatch analyze: " << flows << " flows, " << analyzer.stream_stats().counted
                << " drops counted\n";
    }
    return true;
  });
  analyzer.Flush();
  std::cout.flush();
  if (!st.ok()) {
    std::cerr << "tierwatch analyze: " << st.message() << "\n";
    return kExitUsage;
  }
  sources::SourceStats rs = reader.stats();
  if (rs.malformed > 0 && rs.events == 0) {
    std::cerr << "tierwatch analyze: no readable flow in " << absl::StrJoin(files, " ") << " ("
              << rs.malformed << " malformed lines)\n";
    return kExitUsage;
  }

  if (explaining) {
    if (!explained) {
      std::cerr << "tierwatch analyze: no counted drop with id " << args.explain << " in "
                << absl::StrJoin(files, " ")
                << " (ids come from `tierwatch analyze -o json` on the same inputs)\n";
      return kExitUsage;
    }
    if (as_json) {
      std::cout << tw::DumpJson(classify::ClassificationJson(*explained), 2) << "\n";
    } else {
      std::cout << EscapeTerminal(classify::RenderExplain(*explained), true);
    }
    return kExitOk;
  }
  if (as_json) return kExitOk;

  const classify::DropStreamStats& ss = analyzer.stream_stats();
  classify::ReportOptions ropts;
  ropts.top_connections = args.top;
  ropts.bypass_label = inputs->tiers->options().debug_bypass_label.ToString();
  std::string title = absl::StrCat(
      "tierwatch analyze: ", rs.flows, " flows from ", absl::StrJoin(files, ", "), "\n",
      ss.candidates, " DROPPED/AUDIT events -> ", ss.counted, " counted drops (", ss.twins,
      " policy-verdict twin", ss.twins == 1 ? "" : "s", " folded into their drop event",
      ss.audit ? absl::StrCat(", ", ss.audit, " AUDIT") : "",
      ss.l7 ? absl::StrCat(", ", ss.l7, " L7") : "", ")\n",
      inputs->baseline ? absl::StrCat("baseline: ", inputs->baseline->size(), " connections",
                                      inputs->baseline->source().empty()
                                          ? ""
                                          : absl::StrCat(" from ", inputs->baseline->source()),
                                      " (", args.baseline, ")")
                       : std::string("baseline: none (no drop can be a baseline_regression; pass "
                                     "--baseline)"),
      "\n",
      inputs->evaluator
          ? absl::StrCat("policies: ", inputs->policies->policies.size(), " loaded from ",
                         absl::StrJoin(args.policies, " "))
          : std::string("policies: none (attribution from Hubble's *_denied_by only)"));
  ropts.title = std::move(title);
  // Names in the report come from flows: a control character in one must not reach the
  // terminal.
  std::cout << EscapeTerminal(
      classify::RenderReport(analyzer.counts().Snapshot(), analyzer.bypass().Snapshot(),
                             analyzer.bypass().latest_flow_time(), ropts),
      true);
  return kExitOk;
}

}  // namespace

void RegisterAnalyze(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "analyze", "Why was it dropped? Classify every DROPPED and AUDIT flow of captures");
  cmd->footer(
      "For each drop: class, severity, tiers, baseline, enforcing side, responsible policy,\n"
      "and a sentence to act on.\n\n"
      "Each denied packet counts once: Hubble's drop event (type 1) and its policy-verdict\n"
      "twin (type 5, same node and 5-tuple within 1s) are one drop. AUDIT verdicts count as\n"
      "predicted drops (\"would be dropped\"); L7 drops (DNS refused, HTTP 403) are policy\n"
      "denials by L7 rules.\n\n"
      "Classes, first match wins:\n"
      "  infra_drop (medium)              drop reason known and not policy (conntrack, ...)\n"
      "  reply_drop (low)                 a reply: conntrack state lost\n"
      "  dns_blocked (critical)           destination is the DNS service on port 53\n"
      "  tier0_violation (critical)       enforcing endpoint in Tier 0 (or Cilium health/ingress)\n"
      "  metrics_scrape_blocked (high)    a scraper to a metrics port\n"
      "  bypass_ineffective (high)        enforcing endpoint carries the debug-bypass label\n"
      "  platform_blocked (high)          enforcing endpoint in Tier 1\n"
      "  baseline_regression (high)       connection in the baseline: it used to work\n"
      "  expected_deny (low)              default-deny doing its job\n\n"
      "The enforcing endpoint is the source for EGRESS drops and the destination for INGRESS;\n"
      "without a traffic direction the policies decide (--policies), else the source is "
      "assumed.\n\n"
      "Output: text = summary table, top connections per class, critical and high items with\n"
      "explanations, bypassed endpoints; json = one object per counted drop, in input order.\n"
      "Exit 0 whatever is found; 2 on bad input.\n\n"
      "Examples:\n"
      "  tierwatch analyze after.jsonl --baseline baseline.twb\n"
      "  tierwatch analyze --capture after.jsonl --baseline baseline.yaml --policies "
      "deploy/network-policies/app\n"
      "  tierwatch analyze after.jsonl -o json | jq 'select(.severity==\"critical\")'\n"
      "  tierwatch analyze after.jsonl --baseline baseline.twb --explain 3f9a1c07b2e4\n"
      "  hubble observe -o jsonpb --last 10000 | tierwatch analyze - --tiers tiers.yaml");
  cmd->add_option("captures", args->positional,
                  "Capture files (jsonpb lines), as with --capture; - reads stdin")
      ->type_name("FILE");
  AddCaptureOption(cmd, &args->captures);
  cmd->add_option("--baseline", args->baseline,
                  "Baseline: a snapshot (baseline learn) or an exported document (yaml/json)")
      ->type_name("FILE");
  cmd->add_option("--tiers", args->tiers,
                  "Tier model file; default: the built-in tier model (see config/tiers.yaml)")
      ->type_name("FILE");
  AddPoliciesOption(cmd, &args->policies);
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->add_option("--explain", args->explain,
                  "Print the full reasoning for the drop with this id (from -o json)")
      ->type_name("ID");
  cmd->add_option("--top", args->top,
                  "Connections listed per class in the text summary (default 5)")
      ->type_name("N")
      ->check(CLI::PositiveNumber.description(""));
  cmd->add_flag("--progress", args->progress,
                "Report progress on stderr every 100k flows (default when stderr is a terminal)");
  cmd->add_flag("--strict", args->strict, "Stop at the first malformed flow line (exit 2)");
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunAnalyze(*args); }; });
}

}  // namespace tw::cli
