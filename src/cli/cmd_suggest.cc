// `tierwatch suggest`: least-privilege allow rules for the connections a policy set would
// drop, written as files a GitOps repository takes as they are, and proven by simulation
// before they are trusted (src/suggest/, docs/suggest.md).
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "api/client.h"
#include "api/http.h"
#include "baseline/baseline.h"
#include "baseline/persist.h"
#include "classify/inputs.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"
#include "suggest/prove.h"
#include "suggest/render.h"
#include "suggest/suggest.h"

namespace tw::cli {
namespace {

struct SuggestArgs {
  std::string baseline;
  std::vector<std::string> captures;
  RelayFlags relay;
  ServerFlags server;  // --server, --token-file; server empty = not given
  absl::Duration duration = absl::ZeroDuration();
  std::vector<std::string> policies;
  std::string tiers;
  bool only_dropped = false;
  bool fqdn_patterns = false;
  std::string out;
  bool strict = false;
  size_t max_listed = 20;
  size_t max_lint_policies = suggest::SuggestOptions().max_lint_policies;
};

// Stops a relay read after a wall-clock duration.
class StopAfter {
 public:
  StopAfter(absl::Duration d, std::function<void()> fire)
      : thread_([this, d, fire = std::move(fire)] {
          absl::MutexLock lock(&mu_);
          absl::Time deadline = absl::Now() + d;
          while (!cancelled_ && absl::Now() < deadline) cv_.WaitWithDeadline(&mu_, deadline);
          if (!cancelled_) fire();
        }) {}
  ~StopAfter() {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      cv_.Signal();
    }
    thread_.join();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

int Usage(absl::string_view msg) {
  std::cerr << "tierwatch suggest: " << msg << "\n";
  return kExitUsage;
}

// The connections to allow, from captures or a relay: what worked (as a baseline learns it)
// and what policy dropped (DROPPED with a policy reason, AUDIT), with the endpoints' labels.
absl::Status Collect(const SuggestArgs& a, baseline::Baseline& b, std::string* summary) {
  flow::DnsNameCache dns(b.symbols());
  baseline::LearnOptions lo;
  lo.verdicts |= baseline::VerdictBit(flow::Verdict::kDropped);
  lo.only_policy_drops = true;
  baseline::Learner learner(b, &dns, lo);
  uint64_t lost = 0, malformed = 0;
  if (a.relay.given()) {
    sources::RelayClientOptions o = a.relay.ToOptions();
    o.follow = true;
    sources::RelayClient client(o, b.symbols());
    absl::Status st;
    {
      StopAfter stop(a.duration, [&client] { client.Stop(); });
      st = client.Run([&](flow::Event&& ev) {
        learner.Observe(ev);
        return true;
      });
    }
    if (!st.ok()) return st;
    for (const auto& [source, n] : client.stats().lost_by_source) lost += n;
    b.set_source(absl::StrCat("relay:", a.relay.address));
  } else {
    sources::CaptureOptions copts;
    copts.strict = a.strict;
    copts.errors = &std::cerr;
    sources::CaptureReader reader(a.captures, b.symbols(), copts);
    absl::Status st = reader.Run([&](flow::Event&& ev) {
      learner.Observe(ev);
      return true;
    });
    if (!st.ok()) return st;
    if (reader.stats().events == 0 && reader.stats().malformed > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("no readable flow in ", absl::StrJoin(a.captures, " ")));
    }
    malformed = reader.stats().malformed;
    for (const auto& [source, n] : reader.stats().lost_by_source) lost += n;
    // The files' header names it: a long list of captures is summarised.
    b.set_source(a.captures.size() <= 2 ? absl::StrCat("capture:", absl::StrJoin(a.captures, ","))
                                        : absl::StrCat("capture:", a.captures.front(), " and ",
                                                       a.captures.size() - 1, " more files"));
  }
  const baseline::LearnStats& s = learner.stats();
  *summary = absl::StrCat(b.size(), " connections from ", s.flows, " flows (", s.replies,
                          " replies skipped)");
  if (malformed > 0) absl::StrAppend(summary, "; ", malformed, " malformed lines skipped");
  if (lost > 0)
    absl::StrAppend(summary, "; Hubble lost ", lost, " events: connections may be missing");
  return absl::OkStatus();
}

// `--server URL`: the daemon's live set (GET /api/v1/suggestions), written as the offline
// command writes its own: the same files, the same refusal to replace what tierwatch
// suggest did not write. The daemon ran the proofs; its header says how they went.
int RunFromServer(const SuggestArgs& args) {
  if (!args.policies.empty() || !args.tiers.empty() || args.only_dropped || args.fqdn_patterns) {
    return Usage(
        "--server takes the daemon's set as it is (its policies, tier model and the drops it "
        "kept): --policies, --tiers, --only-dropped and --fqdn-patterns do not apply");
  }
  std::string dir = args.out;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string prefix = dir + "/";
  absl::StatusOr<api::HttpGetOptions> http = args.server.ToOptions();
  if (!http.ok()) return Usage(http.status().message());
  absl::StatusOr<api::Response> r = api::HttpGet(args.server.server, "/api/v1/suggestions", *http);
  if (!r.ok()) return Usage(r.status().message());
  const std::string url = absl::StrCat(args.server.server, "/api/v1/suggestions");
  if (r->status == 401) {
    return Usage(absl::StrCat(url, " answered 401: ", api::UnauthorizedHint(*http)));
  }
  if (r->status != 200) {
    return Usage(absl::StrCat(url, " answered ", r->status, ": ", r->body.substr(0, 300)));
  }
  if (!absl::StartsWith(r->body, "# tierwatch live suggestions")) {
    return Usage(absl::StrCat(url,
                              " did not answer a suggestion bundle (is it tierwatch's HTTP port, "
                              "and a tierwatch that serves suggestions?)"));
  }
  auto files = suggest::SplitBundle(r->body);
  if (!files.ok()) return Usage(absl::StrCat(url, ": ", files.status().message()));

  // The header: comment lines before the first document.
  bool failed = false, unresolved = false, error = false;
  std::cout << "tierwatch suggest: the live set of " << args.server.server << "\n";
  for (absl::string_view line : absl::StrSplit(r->body, '\n')) {
    if (line == "---") break;
    if (!absl::ConsumePrefix(&line, "# ")) continue;
    if (absl::StartsWith(line, "tierwatch suggest bundle:")) continue;
    failed |= absl::StartsWith(line, "proofs: FAILED");
    unresolved |= absl::StartsWith(line, "unresolved: ");
    error |= absl::StartsWith(line, "error: ");
    std::cout << line << "\n";
  }
  if (error) {
    std::cerr << "tierwatch suggest: the daemon could not compute its suggestions (above)\n";
    return kExitUsage;
  }
  if (files->empty()) {
    std::cout << "\nnothing written to " << prefix << "\n";
  } else {
    auto written = suggest::WriteFiles(dir, *files);
    if (!written.ok()) return Usage(written.status().message());
    std::cout << "\nwrote " << prefix << " (" << written->written.size() << " written, "
              << written->unchanged.size() << " unchanged):\n";
    for (const suggest::OutputFile& f : *files) std::cout << "  " << f.path << "\n";
    for (const std::string& st : written->stale) {
      std::cout << "  note: " << st
                << " is from an earlier run and no longer suggested: remove it if unwanted\n";
    }
  }
  std::cout.flush();
  if (failed) {
    std::cerr << "tierwatch suggest: the daemon's proofs FAILED (above): do not apply these "
                 "suggestions as they are\n";
    return kExitFindings;
  }
  if (unresolved) {
    std::cerr << "tierwatch suggest: some connections cannot be closed by an allow (above)\n";
    return kExitFindings;
  }
  return kExitOk;
}

int RunSuggest(const SuggestArgs& args) {
  int inputs = (!args.baseline.empty()) + (!args.captures.empty()) + (args.relay.given()) +
               (!args.server.server.empty());
  if (inputs != 1) {
    return Usage(
        "give the connections to allow: exactly one of --baseline FILE, --capture FILE... or "
        "--relay ADDR --duration D (or --server URL: a running daemon's set)");
  }
  if (args.relay.given() && args.duration <= absl::ZeroDuration()) {
    return Usage("--relay needs --duration D (how long to watch the traffic, e.g. 10m)");
  }
  if (!args.relay.given() && args.duration > absl::ZeroDuration()) {
    return Usage("--duration applies to --relay only");
  }
  if (args.out.empty() || args.out == "-") return Usage("--out DIR is required (a directory)");
  if (!args.server.server.empty()) return RunFromServer(args);

  flow::SymbolTable symbols;
  auto loaded = classify::LoadInputs({args.tiers, "", args.policies}, symbols);
  if (!loaded.ok()) return Usage(loaded.status().message());
  for (const auto& d : loaded->policy_notes) std::cerr << d.ToString() << "\n";

  baseline::Baseline connections(symbols);
  std::string from;
  if (!args.baseline.empty()) {
    auto b = baseline::LoadBaselineAny(args.baseline, symbols);
    if (!b.ok()) return Usage(b.status().message());
    connections = *std::move(b);
    from = absl::StrCat(
        connections.size(), " connections from ", args.baseline,
        connections.source().empty() ? "" : absl::StrCat(" (", connections.source(), ")"));
  } else {
    absl::Status st = Collect(args, connections, &from);
    if (!st.ok()) return Usage(st.message());
  }

  suggest::SuggestOptions opts;
  opts.only_dropped = args.only_dropped;
  opts.fqdn_patterns = args.fqdn_patterns;
  opts.max_lint_policies = args.max_lint_policies;
  policy::PolicySet none;
  const policy::PolicySet& existing = loaded->policies ? loaded->policies->policies : none;
  auto set = suggest::Suggest(connections, existing, *loaded->tiers, opts);
  if (!set.ok()) return Usage(set.status().message());

  std::vector<suggest::OutputFile> files = suggest::Render(*set);
  std::string dir = args.out;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string prefix = dir + "/";
  suggest::ProofReport proof =
      suggest::Prove(connections, *set, files, *loaded->tiers, opts, prefix);

  std::cout << "tierwatch suggest: " << from << "\n";
  if (set->assumed_target) {
    std::cout << "policies: none given: assuming the tier model's target state (Tier 1 and Tier "
                 "2 in default-deny), written as "
              << prefix << "cluster-wide/target-default-deny.yaml\n";
  } else {
    std::cout << "policies: " << existing.size() << " from " << absl::StrJoin(args.policies, " ")
              << "\n";
  }
  const suggest::SuggestStats& st = set->stats;
  std::cout << st.considered << " connections"
            << (args.only_dropped ? " seen DROPPED or AUDIT" : "") << ": " << st.already_allowed
            << " allowed already, " << st.needing_allow << " need an allow (" << st.egress_sides
            << " egress and " << st.ingress_sides << " ingress sides) -> " << set->rule_count()
            << " rules in " << set->policies.size() << " policies\n";

  auto written = suggest::WriteFiles(dir, files);
  if (!written.ok()) return Usage(written.status().message());
  std::cout << "\nwrote " << prefix << " (" << written->written.size() << " written, "
            << written->unchanged.size() << " unchanged):\n";
  for (const suggest::SuggestedPolicy& p : set->policies) {
    std::cout << "  " << p.path << "  " << p.name << ": " << p.egress.size() << " egress, "
              << p.ingress.size() << " ingress rules";
    if (p.clusterwide && !p.caused_by.empty()) {
      std::cout << " (fix for " << absl::StrJoin(p.caused_by, ", ") << ")";
    }
    std::cout << "\n";
  }
  for (const std::string& s : written->stale) {
    std::cout << "  note: " << s
              << " is from an earlier run and no longer suggested: remove it if unwanted\n";
  }
  if (!set->unresolved.empty()) {
    std::cout << "\n" << set->unresolved.size() << " connections no allow rule can close:\n";
    for (size_t i = 0; i < set->unresolved.size() && i < args.max_listed; ++i) {
      std::cout << "  " << set->unresolved[i].key.ToString() << ": " << set->unresolved[i].reason
                << "\n";
    }
    if (set->unresolved.size() > args.max_listed) {
      std::cout << "  ... and " << set->unresolved.size() - args.max_listed << " more\n";
    }
  }
  std::cout << "\nproofs:\n" << suggest::RenderProof(proof, args.max_listed);
  if (!args.baseline.empty() && !args.only_dropped) {
    // The closure proof, as the CI gate runs it.
    std::cout << "\ncheck it yourself: tierwatch simulate --policies "
              << absl::StrJoin(args.policies, " ") << (args.policies.empty() ? "" : " ") << dir
              << " --baseline " << args.baseline << "\n";
  }
  std::cout.flush();
  if (!proof.ok()) {
    std::cerr << "tierwatch suggest: the proofs FAILED (above): do not apply these suggestions "
                 "as they are\n";
    return kExitFindings;
  }
  if (!set->unresolved.empty()) {
    std::cerr << "tierwatch suggest: " << set->unresolved.size()
              << " connections cannot be closed by an allow (above)\n";
    return kExitFindings;
  }
  return kExitOk;
}

}  // namespace

void RegisterSuggest(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<SuggestArgs>();
  CLI::App* cmd = app.add_subcommand(
      "suggest",
      "Suggest least-privilege allow rules for the connections a policy set would drop, as "
      "files for Git, proven by simulation (closure, least privilege, lint).");
  cmd->footer(
      "For every connection of the input that the policies would drop: an egress rule in a\n"
      "policy selecting the source and an ingress rule in a policy selecting the destination,\n"
      "each only where that side denies. Tier 1/2 workloads get a CiliumNetworkPolicy each at\n"
      "DIR/<namespace>/<workload>/networkpolicy.yaml (kustomization.yaml per namespace); a Tier 0\n"
      "workload or Cilium's health/ingress endpoint in default-deny gets a cluster-wide fix\n"
      "under DIR/cluster-wide/ naming the policy that caused it. Every suggested policy only\n"
      "adds allows (enableDefaultDeny: false).\n\n"
      "Selectors use stable labels only (app.kubernetes.io/name, app.kubernetes.io/instance,\n"
      "app, k8s-app, name, version, service account): the fewest that select the workload and\n"
      "no other workload of its namespace. Peers: pods by labels, entities (kube-apiserver,\n"
      "host, remote-node, world) by toEntities, DNS names by toFQDNs matchName plus the DNS\n"
      "rule FQDN policy needs, addresses without a name by a /32 toCIDR marked low-confidence.\n"
      "Each rule carries its evidence (flows, first/last seen, nodes) as a comment; the output\n"
      "is deterministic, so re-running it changes nothing.\n\n"
      "Without --policies, the tier model's target state is assumed (Tier 1 and Tier 2 in\n"
      "default-deny) and written as DIR/cluster-wide/target-default-deny.yaml. From captures or\n"
      "a relay, the connections are what worked plus what policy dropped (DROPPED with a policy\n"
      "reason, AUDIT); --only-dropped keeps only the dropped ones (the on-call case). From a\n"
      "baseline, its connections (--only-dropped: those it saw AUDIT).\n\n"
      "Proofs, run before anything is trusted: the files reparse (no TW009); closure (existing\n"
      "+ suggested allow every input connection, as `tierwatch simulate` would report);\n"
      "least privilege (generated negative connections: other ports, workloads, namespaces,\n"
      "names stay denied); `policy lint` reports no error from the suggestions.\n\n"
      "With --server URL, the set a running daemon (tierwatch run) keeps for the drops it\n"
      "classified baseline_regression, platform_blocked, metrics_scrape_blocked or dns_blocked\n"
      "(GET /api/v1/suggestions): computed and proven by the daemon against its policies and\n"
      "written here as the offline command writes its own.\n\n"
      "Exit 0 when every connection is closed and the proofs hold; 1 when a proof fails or a\n"
      "connection cannot be closed by an allow (a deny rule, unknown labels); 2 on bad input\n"
      "or an unreachable server. Files under DIR that tierwatch suggest did not write are never\n"
      "replaced.\n\n"
      "Examples:\n"
      "  tierwatch suggest --baseline baseline.twb --out suggestions\n"
      "  tierwatch suggest --baseline baseline.yaml --policies deploy/network-policies --out s\n"
      "  tierwatch suggest --capture after.jsonl --policies deploy/network-policies \\\n"
      "    --only-dropped --out s\n"
      "  tierwatch suggest --relay 127.0.0.1:4245 --duration 10m --only-dropped --out s\n"
      "  tierwatch suggest --server http://127.0.0.1:9977 --out s\n"
      "  tierwatch simulate --policies deploy/network-policies s --baseline baseline.yaml");
  cmd->add_option("--baseline", args->baseline,
                  "Connections to allow: a baseline snapshot or exported document")
      ->type_name("FILE");
  // One --capture takes several files (the house dialect), here as in --policies.
  AddCaptureOption(cmd, &args->captures)->allow_extra_args(true);
  args->relay.AddTo(cmd, /*connect_timeout=*/true, /*server_alias=*/false);
  args->server.AddTo(cmd, /*with_default=*/false);
  AddDurationOption(cmd, "--duration", &args->duration,
                    "With --relay: how long to read (30s, 10m)");
  AddPoliciesOption(cmd, &args->policies);
  cmd->add_option("--tiers", args->tiers, "Tier model (config/tiers.yaml); default: the story's")
      ->type_name("FILE");
  cmd->add_flag("--only-dropped", args->only_dropped,
                "Only connections seen DROPPED or AUDIT (the on-call case)");
  cmd->add_flag("--fqdn-patterns", args->fqdn_patterns,
                "Collapse names differing in their first label into one *.domain pattern "
                "(reported as widening; Cilium's * matches one label)");
  cmd->add_option("--out", args->out, "Directory to write the suggestions to")
      ->type_name("DIR")
      ->required();
  cmd->add_option("--max-listed", args->max_listed, "Items listed per section of the report")
      ->capture_default_str();
  cmd->add_option("--max-lint-policies", args->max_lint_policies,
                  "Lint existing + suggested only up to this many policies (0 = always; the "
                  "linter's cost grows with the square of the selectors)")
      ->capture_default_str();
  cmd->add_flag("--strict", args->strict, "Stop at the first malformed flow line (exit 2)");
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunSuggest(*args); }; });
}

}  // namespace tw::cli
