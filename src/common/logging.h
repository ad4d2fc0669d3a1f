// Logging setup. spdlog lives here; other modules log through spdlog's default logger,
// which this sets up once from main(). Messages are "key=value" structured so they grep:
//
//   spdlog::info("relay connected addr={} nodes={}", addr, n);
//
// Never log secrets or whole flows at info.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace tw {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;           // one JSON object per line instead of text
};

// Logs go to stderr so stdout stays for command output.
absl::Status SetupLogging(const LogOptions& options);

}  // namespace tw
