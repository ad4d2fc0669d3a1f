#include "sources/relay/grpc_logging.h"

#include <mutex>

#include "grpc/support/log.h"
#include "spdlog/spdlog.h"

namespace tw::sources {

namespace {

void ToSpdlog(gpr_log_func_args* args) {
  const char* file = args->file != nullptr ? args->file : "?";
  // Keep only the base name: gRPC passes its build tree path.
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/') file = p + 1;
  }
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR:
      spdlog::debug("grpc {}:{} {}", file, args->line, args->message);
      break;
    case GPR_LOG_SEVERITY_INFO:
      spdlog::trace("grpc {}:{} {}", file, args->line, args->message);
      break;
    case GPR_LOG_SEVERITY_DEBUG:
      break;
  }
}

}  // namespace

void RouteGrpcLogsToSpdlog() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpr_set_log_function(ToSpdlog);
    // gRPC formats INFO lines only when asked; do so only when they can be shown.
    if (spdlog::should_log(spdlog::level::trace)) gpr_set_log_verbosity(GPR_LOG_SEVERITY_INFO);
  });
}

}  // namespace tw::sources
