#include <algorithm>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"

namespace tw::cli {

namespace {

constexpr char kVersion[] = "tierwatch 0.1.0";

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "tierwatch observ" / "tierwatch baseline lern": the command named does not exist. Says
// which one was probably meant instead of CLI11's "A subcommand is required".
bool ReportUnknownCommand(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  std::string path = "tierwatch";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (absl::StartsWith(arg, "-")) {
      // Global options before the command; --log-level takes a value.
      if (current == &app && (arg == "--log-level")) ++i;
      if (current == &app) continue;
      return false;
    }
    std::vector<CLI::App*> subs = current->get_subcommands({});
    if (subs.empty()) return false;
    CLI::App* found = nullptr;
    for (CLI::App* s : subs) {
      if (s->check_name(arg)) found = s;
    }
    if (found != nullptr) {
      current = found;
      path += " " + arg;
      continue;
    }
    std::string best;
    size_t best_d = std::string::npos;
    for (CLI::App* s : subs) {
      size_t d = EditDistance(arg, s->get_name());
      bool prefix = absl::StartsWith(s->get_name(), arg) || absl::StartsWith(arg, s->get_name());
      if (prefix) d = std::min<size_t>(d, 1);
      if (d < best_d) {
        best_d = d;
        best = s->get_name();
      }
    }
    std::cerr << path << ": unknown command \"" << arg << "\"";
    if (!best.empty() && best_d <= std::max<size_t>(2, arg.size() / 3)) {
      std::cerr << "; did you mean \"" << best << "\"?";
    }
    std::cerr << "\n";
    std::vector<std::string> names;
    for (CLI::App* s : subs) names.push_back(s->get_name());
    std::cerr << "commands: ";
    for (size_t k = 0; k < names.size(); ++k) std::cerr << (k ? ", " : "") << names[k];
    std::cerr << " (" << path << " --help)\n";
    return true;
  }
  return false;
}

// The top-level command list shows one line per command; a longer description moves to
// the command's own help, ahead of its footer, so nothing is lost.
void OneLineSummaries(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands({})) {
    std::string d = sub->get_description();
    if (d.find('\n') != std::string::npos || d.size() > 90) {
      size_t end = d.find('\n');
      size_t stop = d.find(". ");
      if (stop != std::string::npos && stop < end) end = stop + 1;
      std::string summary = d.substr(0, std::min(end, d.size()));
      if (summary.size() > 90) {
        size_t sp = summary.rfind(' ', 86);
        summary = summary.substr(0, sp == std::string::npos ? 86 : sp) + " ...";
      }
      std::string footer = sub->get_footer();
      sub->footer(footer.empty() ? d : absl::StrCat(d, "\n\n", footer));
      sub->description(summary);
    }
    OneLineSummaries(sub);
  }
}

}  // namespace

int Main(int argc, char** argv) {
  // Under a file-size limit (RLIMIT_FSIZE) an oversized write would otherwise kill the
  // process with SIGXFSZ, mid-save; ignored, the write fails with EFBIG like a full disk
  // (ENOSPC), and the save reports it and keeps the previous snapshot.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "tierwatch — watch a Cilium zero-trust rollout through Hubble.\n\n"
      "Learn the baseline of connections before enforcement, explain every DROPPED or AUDIT\n"
      "flow against the tier model, the baseline and your Cilium policies, and test policy\n"
      "changes offline before they merge.\n\n"
      "Start here:\n"
      "  tierwatch replay --capture examples/zero-trust-rollout/before.jsonl --listen "
      "127.0.0.1:4245\n"
      "  tierwatch observe --relay 127.0.0.1:4245 --last 20\n"
      "  tierwatch observe --capture flows.jsonl --verdict DROPPED\n",
      "tierwatch"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  std::string log_level = "warn";
  bool log_json = false;
  AddLoggingOptions(&app, &log_level, &log_json);

  CommandContext ctx;
  RegisterObserve(app, ctx);
  RegisterReplay(app, ctx);
  RegisterRun(app, ctx);
  RegisterBaseline(app, ctx);
  RegisterBaselineMerge(app, ctx);  // adds `merge` under `baseline`
  RegisterAudit(app, ctx);
  RegisterAnalyze(app, ctx);
  RegisterPolicy(app, ctx);
  RegisterSimulate(app, ctx);
  RegisterDrops(app, ctx);
  RegisterExplain(app, ctx);
  RegisterSuggest(app, ctx);
  app.add_subcommand("version", "Print the version")->callback([&ctx] {
    ctx.run = [] {
      std::cout << kVersion << "\n";
      return kExitOk;
    };
  });
  OneLineSummaries(&app);

  if (ReportUnknownCommand(app, argc, argv)) return kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // CLI11 lists the extra arguments last first; name them in the order they were given.
    std::vector<std::string> extras;
    for (int i = 1; i < argc; ++i) {
      for (const std::string& r : app.remaining(true)) {
        if (r == argv[i] && std::find(extras.begin(), extras.end(), r) == extras.end()) {
          extras.push_back(r);
        }
      }
    }
    std::cerr << "tierwatch: unexpected argument" << (extras.size() == 1 ? "" : "s") << ":";
    for (const auto& x : extras) std::cerr << " " << x;
    std::cerr << " (see --help)\n";
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  auto st = SetupLogging(LogOptions{log_level, log_json});
  if (!st.ok()) {
    std::cerr << "tierwatch: " << st.message() << "\n";
    return kExitUsage;
  }
  if (!ctx.run) {
    std::cerr << app.help();
    return kExitUsage;
  }
  return ctx.run();
}

}  // namespace tw::cli
