#include "cli/flags.h"

#include "common/time_format.h"

namespace tw::cli {

CLI::Option* AddCaptureOption(CLI::App* cmd, std::vector<std::string>* files,
                              const std::string& name) {
  return cmd->add_option(name, *files,
                         "Capture file in `hubble observe -o jsonpb` form (one JSON object a "
                         "line); repeatable; - reads standard input")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

CLI::Option* AddPoliciesOption(CLI::App* cmd, std::vector<std::string>* paths) {
  return cmd->add_option("--policies", *paths,
                         "CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy "
                         "YAML files or directories (searched recursively)")
      ->type_name("PATH...");
}

CLI::Option* AddOutputOption(CLI::App* cmd, std::string* format,
                             const std::vector<std::string>& formats) {
  *format = formats.front();
  std::string joined;
  for (const auto& f : formats) joined += (joined.empty() ? "" : "|") + f;
  return cmd->add_option("-o,--output", *format, "Output format: " + joined)
      ->check(CLI::IsMember(formats))
      ->type_name("FORMAT")
      ->default_str(formats.front());
}

CLI::Option* AddDurationOption(CLI::App* cmd, const std::string& name, absl::Duration* out,
                               const std::string& help) {
  return cmd
      ->add_option_function<std::string>(
          name,
          [out, name](const std::string& v) {
            auto d = tw::ParseDuration(v);
            if (!d.ok()) throw CLI::ValidationError(name, std::string(d.status().message()));
            *out = *d;
          },
          help)
      ->type_name("DURATION");
}

void AddLoggingOptions(CLI::App* app, std::string* level, bool* json) {
  app->add_option("--log-level", *level, "Log level: trace|debug|info|warn|error|off (stderr)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app->add_flag("--log-json", *json, "Write logs as JSON lines");
}

}  // namespace tw::cli
