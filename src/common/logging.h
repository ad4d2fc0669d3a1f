// Logging setup. spdlog lives here; other modules log through spdlog's default logger,
// which this sets up once from main(). Messages are "key=value" structured so they grep:
//
//   spdlog::info("relay connected addr={} nodes={}", addr, n);
//
// Never log secrets or whole flows at info.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "spdlog/formatter.h"
#include "spdlog/spdlog.h"

namespace tw {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off
  bool json = false;           // one JSON object per line instead of text
};

// Logs go to stderr so stdout stays for command output.
absl::Status SetupLogging(const LogOptions& options);

// The line format SetupLogging installs: text ("2026-12-03T23:10:00.138Z info msg") or one
// JSON object a line ({"time","level","msg"}), the message escaped as a JSON string so a
// quote, backslash or newline in it (`source="capture a.jsonl"`) keeps the line valid JSON.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(bool json);

}  // namespace tw
