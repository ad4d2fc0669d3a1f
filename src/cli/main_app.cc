#include <iostream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"

namespace tw::cli {

int Main(int argc, char** argv) {
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
  app.set_version_flag("--version", "tierwatch 0.1.0");
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
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
