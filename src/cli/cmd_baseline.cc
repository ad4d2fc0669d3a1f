// tierwatch baseline learn|export|diff and tierwatch audit: learning a baseline from a relay
// or captures, turning it into the documented baseline, and comparing traffic or baselines
// against it. Exit status: 0 done / no differences, 1 differences found (diff,
// audit), 2 bad usage or input.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "app/signals.h"
#include "baseline/baseline.h"
#include "baseline/diff.h"
#include "baseline/document.h"
#include "baseline/persist.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/printer.h"
#include "common/json_text.h"
#include "common/time_format.h"
#include "nlohmann/json.hpp"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"

namespace tw::cli {

namespace {

// Where learning reads flows from: captures, or a relay for a while.
struct SourceArgs {
  RelayFlags relay;
  std::vector<std::string> captures;
  absl::Duration duration = absl::ZeroDuration();
  std::string since;
  bool strict = false;
};

void AddSourceOptions(CLI::App* cmd, SourceArgs* a, const std::string& duration_help) {
  a->relay.AddTo(cmd);
  AddCaptureOption(cmd, &a->captures);
  AddDurationOption(cmd, "--duration", &a->duration, duration_help);
  cmd->add_option("--since", a->since,
                  "With --relay: start with the flows the relay still holds from this time "
                  "(RFC 3339, or a duration ago: 1h); default: only new flows")
      ->type_name("TIME");
  cmd->add_flag("--strict", a->strict, "A malformed capture line is fatal (exit 2)");
}

std::string Describe(const SourceArgs& a) {
  if (a.relay.given()) return absl::StrCat("relay:", a.relay.address);
  return absl::StrCat("capture:", absl::StrJoin(a.captures, ","));
}

// Stops a source after a wall-clock duration (or earlier, when Cancel()led).
class Timer {
 public:
  Timer(absl::Duration d, std::function<void()> fire)
      : thread_([this, d, fire = std::move(fire)] {
          absl::MutexLock lock(&mu_);
          absl::Time deadline = absl::Now() + d;
          while (!cancelled_) {
            if (cv_.WaitWithDeadline(&mu_, deadline)) {
              if (absl::Now() >= deadline) break;
            }
          }
          if (!cancelled_) fire();
        }) {}
  ~Timer() {
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

// What reading the source did, beyond the learner's own counts.
struct LearnRun {
  std::string summary;       // "1053 flows (48 learned, ...)"
  uint64_t events = 0;       // events read (flows, lost events, node status)
  uint64_t malformed = 0;    // capture lines skipped
  bool interrupted = false;  // Ctrl-C (SIGINT/SIGTERM) ended it
  absl::Duration elapsed;
  // Relay: why the last connection attempt failed, when the run ended (--duration, Ctrl-C)
  // before any attempt succeeded — "the relay sent nothing" would then be false.
  std::string never_connected;
};

// Learns every event of the source into `learner`, and every DROPPED flow into `blocked`
// (when given). Errors are bad input or an unreachable relay (exit 2).
absl::Status Learn(const SourceArgs& a, flow::SymbolTable& symbols, baseline::Learner& learner,
                   baseline::Learner* blocked, LearnRun* run) {
  uint64_t lost = 0;
  const absl::Time start = absl::Now();
  std::atomic<bool> interrupted{false};
  auto observe = [&](flow::Event&& ev) {
    ++run->events;
    learner.Observe(ev);
    if (blocked != nullptr && ev.flow && ev.flow->verdict == flow::Verdict::kDropped) {
      blocked->Observe(ev);
    }
    return true;
  };
  if (a.relay.given()) {
    sources::RelayClientOptions o = a.relay.ToOptions();
    o.follow = true;
    if (!a.since.empty()) {
      absl::StatusOr<absl::Time> since = ParseTime(a.since, absl::Now());
      if (!since.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("--since: ", since.status().message()));
      }
      o.since = *since;
    }
    sources::RelayClient client(o, symbols);
    // Before any other thread: every thread created later leaves SIGINT/SIGTERM to it.
    app::SignalThread signals({[&](int, int) {
                                 interrupted = true;
                                 client.Stop();
                               },
                               nullptr});
    std::unique_ptr<Timer> timer;
    if (a.duration > absl::ZeroDuration()) {
      timer = std::make_unique<Timer>(a.duration, [&client] { client.Stop(); });
    }
    absl::Status st = client.Run(observe);
    timer.reset();
    if (!st.ok()) return st;
    if (auto why = client.last_connect_error(); why && run->events == 0 && !client.connected()) {
      run->never_connected = why->ToString(a.relay.address);
    }
    for (const auto& [source, n] : client.stats().lost_by_source) lost += n;
  } else {
    sources::CaptureOptions copts;
    copts.strict = a.strict;
    copts.errors = &std::cerr;
    sources::CaptureReader reader(a.captures, symbols, copts);
    app::SignalThread signals({[&](int, int) {
                                 interrupted = true;
                                 reader.Stop();
                               },
                               nullptr});
    absl::Status st = reader.Run(observe);
    if (!st.ok()) return st;
    run->malformed = reader.stats().malformed;
    for (const auto& [source, n] : reader.stats().lost_by_source) lost += n;
    if (reader.stats().duplicates > 0) {
      std::cerr << "tierwatch: " << reader.stats().duplicates
                << " flow(s) read twice (same uuid in several captures) counted once\n";
    }
  }
  run->interrupted = interrupted;
  run->elapsed = absl::Now() - start;
  const baseline::LearnStats& s = learner.stats();
  std::vector<std::string> parts = {absl::StrCat(s.learned, " learned")};
  if (s.replies > 0) parts.push_back(absl::StrCat(s.replies, " replies"));
  if (s.skipped_verdict > 0) {
    parts.push_back(absl::StrCat(s.skipped_verdict, " dropped or failed (not learned)"));
  }
  if (s.no_connection > 0) parts.push_back(absl::StrCat(s.no_connection, " without a port"));
  run->summary = absl::StrCat(s.flows, " flows (", absl::StrJoin(parts, ", "), ")");
  if (run->malformed > 0) {
    absl::StrAppend(&run->summary, "; ", run->malformed, " malformed line(s) skipped");
  }
  if (lost > 0) {
    absl::StrAppend(&run->summary, "; Hubble lost ", lost, " event(s): connections may be missing");
  }
  return absl::OkStatus();
}

// Why a run that read no flows read none, and what to do.
std::string NoFlowsReason(const SourceArgs& a, const LearnRun& run) {
  if (run.malformed > 0) {
    return absl::StrCat("read no flows from ", Describe(a), ": all ", run.malformed,
                        " line(s) were malformed (a capture must be `hubble observe -o jsonpb` "
                        "output, not the default text)");
  }
  if (a.relay.given() && !run.never_connected.empty()) {
    return absl::StrCat(run.never_connected, "\n  gave up after ",
                        tw::FormatDuration(absl::Trunc(run.elapsed, absl::Milliseconds(100))),
                        run.interrupted ? " (interrupted)" : " (--duration)",
                        " without connecting");
  }
  if (a.relay.given()) {
    return absl::StrCat("read no flows from ", Describe(a), " in ", tw::FormatDuration(run.elapsed),
                        run.interrupted ? " (interrupted)" : "",
                        ": the relay sent nothing (are there flows? try a longer --duration, or "
                        "--since 1h for what the relay still holds)");
  }
  return absl::StrCat("read no flows from ", Describe(a),
                      run.interrupted ? " (interrupted)" : ": the capture is empty");
}

int Fail(absl::string_view cmd, absl::string_view msg) {
  std::cerr << "tierwatch " << cmd << ": " << msg << "\n";
  return kExitUsage;
}

// Either --relay or --capture; --duration only with --relay (and required when `need`).
std::string CheckSource(const SourceArgs& a, bool duration_required) {
  if (a.relay.given() == !a.captures.empty()) {
    return "give either --relay ADDR or --capture FILE... (see --help)";
  }
  if (!a.captures.empty() && (a.duration > absl::ZeroDuration() || !a.since.empty())) {
    return "--duration and --since apply to --relay only (captures are read to the end)";
  }
  if (a.relay.given() && duration_required && a.duration <= absl::ZeroDuration()) {
    return "--relay needs --duration D (how long to watch the traffic, e.g. 10m)";
  }
  return "";
}

// Writes `text` to FILE atomically, or to stdout when FILE is empty or "-".
absl::Status WriteOutput(const std::string& file, const std::string& text) {
  if (file.empty() || file == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? absl::OkStatus() : absl::DataLossError("cannot write standard output");
  }
  return baseline::WriteFileAtomically(file, text);
}

// --- baseline learn ----------------------------------------------------------------------

struct LearnArgs {
  SourceArgs source;
  std::string out;
  bool merge = false;
};

int RunLearn(const LearnArgs& a) {
  const char* cmd = "baseline learn";
  if (std::string e = CheckSource(a.source, false); !e.empty()) return Fail(cmd, e);
  flow::SymbolTable symbols;
  baseline::Baseline learned(symbols);
  const bool exists = ::access(a.out.c_str(), F_OK) == 0;
  // Never replace a file that is not a snapshot (a documented baseline given by mistake).
  if (exists) {
    std::ifstream in(a.out, std::ios::binary);
    char head[8] = {};
    in.read(head, sizeof(head));
    if (baseline::DetectBaselineFile(absl::string_view(head, static_cast<size_t>(in.gcount()))) !=
        baseline::BaselineFileKind::kSnapshot) {
      return Fail(cmd, absl::StrCat(a.out,
                                    " exists and is not a baseline snapshot; refusing to "
                                    "overwrite it (choose another --out)"));
    }
    if (a.merge) {
      auto existing = baseline::LoadSnapshot(a.out, symbols);
      if (!existing.ok()) return Fail(cmd, existing.status().message());
      learned = *std::move(existing);
    }
  }
  const std::string untouched =
      exists ? absl::StrCat("\n  ", a.out, " left untouched") : "\n  nothing written";
  std::string previous_source = learned.source();
  flow::DnsNameCache dns(symbols);
  baseline::Learner learner(learned, &dns);
  LearnRun run;
  absl::Status st = Learn(a.source, symbols, learner, nullptr, &run);
  // A baseline the user already has is never replaced by one from a failed, empty or
  // cut-short learning run.
  if (!st.ok()) return Fail(cmd, absl::StrCat(st.message(), untouched));
  if (learner.stats().flows == 0) return Fail(cmd, NoFlowsReason(a.source, run) + untouched);
  if (run.interrupted && (a.source.duration > absl::ZeroDuration() || !a.source.relay.given())) {
    // Learning until Ctrl-C is how a relay learn without --duration ends; anything else
    // stopped early is incomplete.
    std::cerr << "tierwatch " << cmd << ": interrupted after " << tw::FormatDuration(run.elapsed)
              << (a.source.duration > absl::ZeroDuration()
                      ? absl::StrCat(" of ", tw::FormatDuration(a.source.duration))
                      : std::string(" (the captures were not read to the end)"))
              << ": " << run.summary << " not written" << untouched
              << (a.source.relay.given() ? " (without --duration, Ctrl-C ends learning and writes)"
                                         : "")
              << "\n";
    return kExitInterrupted;
  }
  learned.set_source(previous_source.empty()
                         ? Describe(a.source)
                         : absl::StrCat(previous_source, "+", Describe(a.source)));
  st = baseline::SaveSnapshot(learned, a.out);
  if (!st.ok()) return Fail(cmd, st.message());
  std::cout << "learned " << learned.size() << " connection(s) from " << run.summary << "\n"
            << "wrote " << a.out;
  if (!learned.empty()) {
    std::cout << " (" << FormatRfc3339(learned.first_seen()) << " to "
              << FormatRfc3339(learned.last_seen()) << ")";
  }
  std::cout << "\nnext: tierwatch baseline export " << a.out << " --out baseline.yaml\n";
  return kExitOk;
}

// --- baseline export ---------------------------------------------------------------------

struct ExportArgs {
  std::string input;
  std::string output = "yaml";
  std::string out;
  CLI::Option* output_opt = nullptr;
};

// The format the --out file's extension asks for ("" when it does not say).
std::string FormatFromExtension(const std::string& file) {
  std::string ext = absl::AsciiStrToLower(std::filesystem::path(file).extension().string());
  if (ext == ".json") return "json";
  if (ext == ".yaml" || ext == ".yml") return "yaml";
  return "";
}

int RunExport(const ExportArgs& a) {
  std::string format = a.output;
  if (!a.out.empty() && a.out != "-") {
    // A .json file never silently receives YAML (nor a .yaml file JSON).
    std::string by_ext = FormatFromExtension(a.out);
    if (a.output_opt != nullptr && a.output_opt->count() > 0) {
      if (!by_ext.empty() && by_ext != a.output) {
        return Fail("baseline export",
                    absl::StrCat("--out ", a.out, " is a .", by_ext, " file but -o says ", a.output,
                                 ": drop -o (the extension decides) or make them agree"));
      }
    } else if (!by_ext.empty()) {
      format = by_ext;
    }
  }
  flow::SymbolTable symbols;
  auto b = baseline::LoadBaselineAny(a.input, symbols);
  if (!b.ok()) return Fail("baseline export", b.status().message());
  std::string text = baseline::ExportBaselineDocument(
      *b, format == "json" ? baseline::DocumentFormat::kJson : baseline::DocumentFormat::kYaml);
  absl::Status st = WriteOutput(a.out, text);
  if (!st.ok()) return Fail("baseline export", st.message());
  if (!a.out.empty() && a.out != "-") {
    std::cerr << "wrote " << b->size() << " connection(s) to " << a.out << "\n";
  }
  return kExitOk;
}

// --- baseline diff -----------------------------------------------------------------------

struct DiffArgs {
  std::string a, b;
  std::string output = "text";
};

int RunDiff(const DiffArgs& a) {
  flow::SymbolTable symbols;
  auto before = baseline::LoadBaselineAny(a.a, symbols);
  if (!before.ok()) return Fail("baseline diff", before.status().message());
  auto after = baseline::LoadBaselineAny(a.b, symbols);
  if (!after.ok()) return Fail("baseline diff", after.status().message());
  baseline::BaselineDiff d = baseline::DiffBaselines(*before, *after);
  baseline::DiffLabels labels{a.a, a.b, absl::StrCat("new in ", a.b),
                              absl::StrCat("vanished (in ", a.a, " only)")};
  std::cout << (a.output == "json" ? baseline::RenderDiffJson(d, labels)
                                   : EscapeTerminal(baseline::RenderDiffText(d, labels), true));
  return d.empty() ? kExitOk : kExitFindings;
}

// --- audit -------------------------------------------------------------------------------

struct AuditArgs {
  std::string baseline;
  SourceArgs source;
  std::string output = "text";
  bool ignore_vanished = false;
};

int RunAudit(const AuditArgs& a) {
  const char* cmd = "audit";
  if (std::string e = CheckSource(a.source, true); !e.empty()) return Fail(cmd, e);
  flow::SymbolTable symbols;
  auto documented = baseline::LoadBaselineAny(a.baseline, symbols);
  if (!documented.ok()) return Fail(cmd, documented.status().message());
  baseline::Baseline observed(symbols);
  observed.set_source(Describe(a.source));
  flow::DnsNameCache dns(symbols);
  baseline::Learner learner(observed, &dns);
  // Documented connections seen DROPPED were seen: they are blocked, not vanished.
  baseline::Baseline dropped(symbols);
  baseline::LearnOptions drop_opts;
  drop_opts.verdicts = baseline::VerdictBit(flow::Verdict::kDropped);
  baseline::Learner drop_learner(dropped, &dns, drop_opts);
  LearnRun run;
  absl::Status st = Learn(a.source, symbols, learner, &drop_learner, &run);
  // No source, no verdict: without traffic every documented connection would look vanished.
  if (!st.ok()) return Fail(cmd, absl::StrCat(st.message(), "\n  no audit without traffic"));
  if (learner.stats().flows == 0) {
    return Fail(cmd, NoFlowsReason(a.source, run) + "\n  no audit without traffic");
  }
  if (run.interrupted) {
    std::cerr << "tierwatch " << cmd << ": interrupted after " << tw::FormatDuration(run.elapsed)
              << "; no verdict from part of the traffic\n";
    return kExitInterrupted;
  }
  baseline::BaselineDiff d = baseline::DiffBaselines(*documented, observed);
  std::vector<baseline::ConnectionRecord> blocked;
  std::vector<baseline::ConnectionRecord> vanished;
  for (const baseline::ConnectionRecord& r : d.removed) {
    std::optional<baseline::ConnectionRecord> drop = dropped.Find(r.key);
    if (drop) {
      blocked.push_back(*drop);
    } else {
      vanished.push_back(r);
    }
  }
  d.removed = vanished;
  const std::string observed_label =
      absl::StrCat("the observed traffic (", Describe(a.source), ")");
  baseline::DiffLabels labels{a.baseline, observed_label, "new since the documented baseline",
                              "vanished (documented, not seen in this traffic)"};
  if (a.output == "json") {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(baseline::RenderDiffJson(d, labels));
    nlohmann::ordered_json b = nlohmann::ordered_json::array();
    for (const auto& r : blocked) b.push_back(baseline::ConnectionJson(r));
    j["identical"] = d.empty() && blocked.empty();
    j["blocked"] = std::move(b);
    std::cout << tw::DumpJson(j, 2) << "\n";
  } else {
    std::cout << "observed " << observed.size() << " connection(s) in " << run.summary << "\n";
    std::string text = EscapeTerminal(baseline::RenderDiffText(d, labels), true);
    if (!blocked.empty()) {
      // RenderDiffText's summary line does not know blocked connections: write our own.
      std::cout << d.added.size() << " new, " << blocked.size() << " blocked, " << d.removed.size()
                << " vanished: " << a.baseline << " (" << documented->size() << " connections) -> "
                << observed_label << " (" << observed.size() << " connections)\n";
      size_t nl = text.find('\n');
      if (!d.empty() && nl != std::string::npos) std::cout << text.substr(nl + 1);
      std::cout << "\nblocked (documented, seen DROPPED in this traffic) (" << blocked.size()
                << "):\n";
      for (const auto& r : blocked) {
        std::vector<std::string> nodes;
        for (flow::Symbol n : r.nodes) nodes.push_back(n.str());
        std::cout << "  ! " << EscapeTerminal(r.key.ToString()) << "\n      dropped=" << r.count
                  << " first_seen=" << FormatRfc3339(r.first_seen)
                  << " last_seen=" << FormatRfc3339(r.last_seen)
                  << (nodes.empty()
                          ? ""
                          : absl::StrCat(" nodes=", EscapeTerminal(absl::StrJoin(nodes, ","))))
                  << "\n";
      }
    } else {
      std::cout << text;
    }
    if (!d.removed.empty() && a.ignore_vanished) {
      std::cout << "(vanished connections do not fail this audit: --ignore-vanished)\n";
    }
  }
  bool findings =
      !d.added.empty() || !blocked.empty() || (!a.ignore_vanished && !d.removed.empty());
  return findings ? kExitFindings : kExitOk;
}

// A subcommand whose one-line summary shows in its parent's list, and whose details and
// examples follow its options in its own --help.
CLI::App* AddCommand(CLI::App* parent, const std::string& name, const std::string& summary,
                     const std::string& details) {
  CLI::App* cmd = parent->add_subcommand(name, summary);
  cmd->footer(details);
  return cmd;
}

}  // namespace

void RegisterBaseline(CLI::App& app, CommandContext& ctx) {
  CLI::App* baseline = AddCommand(
      &app, "baseline", "Learn, export (document) and compare baselines of connections",
      "A baseline is the set of connections seen while learning: (source workload,\n"
      "destination workload | entity | FQDN, protocol, port); replies are not connections.\n"
      "World destinations are named by DNS (the flow's names, else the DNS answers seen in\n"
      "the traffic) and kept by IP only where no name is known. Wherever a command takes a\n"
      "baseline FILE it may be the binary snapshot or the exported document (YAML or JSON);\n"
      "tierwatch tells them apart by their header. See docs/baseline.md.\n\n"
      "Typical use:\n"
      "  tierwatch baseline learn --capture before.jsonl --out baseline.twb\n"
      "  tierwatch baseline export baseline.twb --out baseline.yaml   # review, commit\n"
      "  tierwatch baseline diff baseline.yaml baseline-next.twb\n"
      "  tierwatch audit --baseline baseline.yaml --relay 127.0.0.1:4245 --duration 10m\n");
  baseline->require_subcommand(1);

  auto la = std::make_shared<LearnArgs>();
  CLI::App* learn = AddCommand(
      baseline, "learn", "Learn a baseline snapshot from captures or from a Hubble Relay",
      "Flows with verdict FORWARDED, AUDIT, REDIRECTED, TRANSLATED or TRACED are learned\n"
      "(traffic that works today); DROPPED and ERROR flows and replies are not. From a relay\n"
      "it learns for --duration, or until Ctrl-C, then writes the snapshot atomically.\n\n"
      "An existing --out file is never replaced by a worse one: when the relay cannot be\n"
      "reached (within --connect-timeout), no flow was read (an empty capture, or one saved\n"
      "without -o jsonpb), or Ctrl-C cuts a --duration or a capture short, nothing is written\n"
      "and the exit status says why (2, or 130 for Ctrl-C).\n\n"
      "Examples:\n"
      "  tierwatch baseline learn --capture examples/zero-trust-rollout/before.jsonl \\\n"
      "      --out baseline.twb\n"
      "  tierwatch baseline learn --relay 127.0.0.1:4245 --duration 1h --out baseline.twb\n"
      "  tierwatch baseline learn --relay 127.0.0.1:4245 --since 30m --duration 10m \\\n"
      "      --out baseline.twb     # what the relay still holds, then 10 more minutes\n"
      "  tierwatch baseline learn --capture day2.jsonl --out baseline.twb --merge\n");
  AddSourceOptions(learn, &la->source,
                   "With --relay: learn for this long (30s, 10m, 168h); default until Ctrl-C");
  learn->add_option("--out", la->out, "Snapshot file to write (atomically)")
      ->type_name("FILE")
      ->required();
  learn->add_flag("--merge", la->merge,
                  "Add to the snapshot already at --out instead of replacing it");
  learn->callback([la, &ctx] { ctx.run = [la] { return RunLearn(*la); }; });

  auto ea = std::make_shared<ExportArgs>();
  CLI::App* exp = AddCommand(
      baseline, "export", "Write the documented baseline (YAML or JSON) to review and commit",
      "A stable, sorted document of a baseline's connections (source, destination,\n"
      "protocol, port, first/last seen, count, nodes, verdicts, byIpOnly) with a header\n"
      "(kind: TierwatchBaseline, apiVersion: tierwatch.io/v1, where it was learned, the time\n"
      "range). The same baseline always exports to the same bytes.\n\n"
      "Examples:\n"
      "  tierwatch baseline export baseline.twb > baseline.yaml\n"
      "  tierwatch baseline export baseline.twb --out baseline.json   # JSON by extension\n");
  exp->add_option("snapshot", ea->input, "Baseline snapshot (or an exported document)")
      ->type_name("SNAPSHOT")
      ->required();
  ea->output_opt = AddOutputOption(exp, &ea->output, {"yaml", "json"});
  exp->add_option("--out", ea->out,
                  "Write to FILE (atomically) instead of standard output; a .json/.yaml "
                  "extension chooses the format when -o is not given")
      ->type_name("FILE");
  exp->callback([ea, &ctx] { ctx.run = [ea] { return RunExport(*ea); }; });

  auto da = std::make_shared<DiffArgs>();
  CLI::App* diff = AddCommand(
      baseline, "diff", "Compare two baselines: connections new in B, vanished from A",
      "A and B are snapshots or documents. Only connections are compared; counts and times\n"
      "always differ between learning periods.\n"
      "Exit status: 0 identical, 1 differences, 2 bad input.\n\n"
      "Examples:\n"
      "  tierwatch baseline diff baseline.yaml baseline-next.twb\n"
      "  git show HEAD~1:baseline.yaml > old.yaml\n"
      "  tierwatch baseline diff old.yaml baseline.yaml -o json\n");
  diff->add_option("a", da->a, "The earlier baseline")->type_name("A")->required();
  diff->add_option("b", da->b, "The later baseline")->type_name("B")->required();
  AddOutputOption(diff, &da->output, {"text", "json"});
  diff->callback([da, &ctx] { ctx.run = [da] { return RunDiff(*da); }; });
}

void RegisterAudit(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<AuditArgs>();
  CLI::App* cmd = AddCommand(
      &app, "audit",
      "Audit traffic against the documented baseline: new, blocked and vanished connections",
      "Learns the traffic (captures, or a relay for --duration) into a temporary baseline and\n"
      "reports connections that are new since the documented baseline, documented\n"
      "connections seen DROPPED (blocked), and documented connections not seen at all\n"
      "(vanished).\n"
      "Exit status: 0 nothing found, 1 new, blocked or vanished connections, 2 bad input or no\n"
      "traffic to judge (relay unreachable, no flow read), 130 interrupted.\n\n"
      "Examples:\n"
      "  tierwatch audit --baseline baseline.yaml --capture today.jsonl\n"
      "  tierwatch audit --baseline baseline.yaml --relay 127.0.0.1:4245 --duration 10m\n"
      "  tierwatch audit --baseline baseline.yaml --capture today.jsonl --ignore-vanished -o "
      "json\n");
  cmd->add_option("--baseline", a->baseline, "The documented baseline (document or snapshot)")
      ->type_name("FILE")
      ->required();
  AddSourceOptions(cmd, &a->source, "With --relay (required): how long to watch (10m, 1h)");
  AddOutputOption(cmd, &a->output, {"text", "json"});
  cmd->add_flag("--ignore-vanished", a->ignore_vanished,
                "Report documented connections not seen, but fail only on new ones (a short "
                "window rarely sees everything)");
  cmd->callback([a, &ctx] { ctx.run = [a] { return RunAudit(*a); }; });
}

}  // namespace tw::cli
