// `tierwatch explain`: the full reasoning behind one drop of a running daemon
// (/api/v1/drops/{id}): the same text `tierwatch analyze --explain ID` prints for the same
// drop.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/client.h"
#include "api/http.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/json_text.h"
#include "nlohmann/json.hpp"

namespace tw::cli {
namespace {

struct ExplainArgs {
  ServerFlags server;
  std::string id;
  std::string output = "text";
};

// Keeps newlines (the text is a report), escapes every other control character.
std::string Safe(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

int RunExplain(const ExplainArgs& a) {
  absl::StatusOr<api::HttpGetOptions> http = a.server.ToOptions();
  absl::StatusOr<nlohmann::json> d =
      http.ok() ? api::GetJson(a.server.server,
                               absl::StrCat("/api/v1/drops/", api::UrlEncode(a.id)), *http)
                : absl::StatusOr<nlohmann::json>(http.status());
  if (!d.ok()) {
    std::cerr << "tierwatch explain: " << d.status().message() << "\n";
    return kExitUsage;
  }
  if (a.output == "json") {
    d->erase("explain_text");
    std::cout << tw::DumpJson(*d, 2) << "\n";  // as `tierwatch analyze --explain ID -o json`
  } else {
    std::cout << Safe(d->value("explain_text", std::string()));
  }
  return kExitOk;
}

}  // namespace

void RegisterExplain(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "On call: why one drop of a running daemon happened — facts, every rule checked, the "
      "responsible policy and the sentence to act on.");
  cmd->footer(
      "Reads GET /api/v1/drops/{id} of `tierwatch run` (docs/api.md). Ids come from\n"
      "`tierwatch drops` (id=...) or the daemon's summary; the daemon remembers its last\n"
      "recent_drops drops. The text is what `tierwatch analyze --explain ID` prints for the\n"
      "same drop.\n\n"
      "Exit: 0 done; 2 unknown id, bad flags, or the daemon unreachable.\n\n"
      "Examples:\n"
      "  tierwatch explain --server http://127.0.0.1:9977 3f9a1c07b2e4\n"
      "  tierwatch explain 3f9a1c07b2e4 -o json | jq .policy.responsible");
  cmd->add_option("id", args->id, "The drop id (12 hex digits)")->type_name("ID")->required();
  args->server.AddTo(cmd);
  AddOutputOption(cmd, &args->output, {"text", "json"});
  cmd->callback([args, &ctx] { ctx.run = [args] { return RunExplain(*args); }; });
}

}  // namespace tw::cli
