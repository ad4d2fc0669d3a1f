// How `tierwatch observe` prints events, in `hubble observe`'s formats and words:
//   compact  one line per flow:
//            Nov 20 09:21:00.351: business/odoo-7d9f8-x2x9z:40512 (ID:48211) ->
//            business/postgres-0:5432 (ID:1234) Policy denied DROPPED (TCP Flags: SYN)
//   dict     KEY: value blocks separated by "------------"
//   table    tab-aligned columns (all rows at Flush(); not with --follow)
//   json     the event as hubble's -o json prints it (`json_line`: the capture's line, or
//            the relay's wire message rendered by flow::HubbleJson)
// Source/destination: ns/pod, else ns/service, else the DNS names, else the IP (only the IP
// with --numeric); then :port (TCP/UDP/SCTP). (ID:n) or the reserved identity ((world),
// (host), ...). The arrow is -> for a request, <- for a reply (printed client <- server),
// <> when Hubble does not know. The type column is the drop reason in hubble's words for
// drops ("Policy denied"), the observation point for traces, policy-verdict:<match>
// <DIRECTION> (verdicts ALLOWED/DENIED/AUDITED), <proto>-<request|response> for L7. Lost
// events go to stdout; relay node status to stderr, only errors and unavailable nodes
// unless `debug`. Times are UTC in `time_format`.
//
// Every text this prints from a flow field passes EscapeTerminal: a pod name, label, HTTP
// path or DNS name carrying ESC or other control characters cannot drive the terminal.
//
//   tw::cli::PrintOptions opts;
//   opts.format = tw::cli::OutputFormat::kCompact;
//   tw::cli::EventPrinter printer(stdout, stderr, opts);
//   printer.Print(event);      // thread-safe
//   printer.Flush();
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "flow/flow.h"

namespace tw::cli {

enum class OutputFormat { kCompact, kDict, kTable, kJson };

// hubble's --time-format names: StampMilli (default), YearMonthDay, YearMonthDayHour,
// YearMonthDayHourMinute, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano, RFC1123Z.
enum class TimeFormat {
  kStampMilli,
  kYearMonthDay,
  kYearMonthDayHour,
  kYearMonthDayHourMinute,
  kRfc3339,
  kRfc3339Milli,
  kRfc3339Micro,
  kRfc3339Nano,
  kRfc1123Z,
};
absl::StatusOr<TimeFormat> ParseTimeFormat(absl::string_view name);
// UTC; "N/A" for an absent time (UnixEpoch), as hubble prints an invalid timestamp.
std::string FormatTime(absl::Time t, TimeFormat format);

struct PrintOptions {
  OutputFormat format = OutputFormat::kCompact;
  TimeFormat time_format = TimeFormat::kStampMilli;
  bool node_name = false;  // --print-node-name
  bool color = false;      // resolved --color
  bool numeric = false;    // --numeric: IPs, not pod/service/DNS names
  bool debug = false;      // all node status events (hubble's --debug)
};

// Makes text from flows safe for a terminal: ESC becomes "^[" and CR "\r" (as hubble's
// printer does), and every other C0 control, DEL and C1 control (U+0080..U+009F, which
// includes the 8-bit CSI) becomes a visible \xNN / \u00NN; newlines and tabs too, unless
// `keep_newlines_and_tabs` (for whole text reports, whose own line breaks are content).
std::string EscapeTerminal(absl::string_view text, bool keep_newlines_and_tabs = false);

// Hubble's drop reason text for a datapath reason code ("Policy denied", "Policy denied by
// denylist", ...); the number for codes it has no text for.
std::string DropReasonText(uint32_t code);

std::string FormatCompactFlow(const flow::Flow& f, const PrintOptions& options);

class EventPrinter {
 public:
  EventPrinter(std::FILE* out, std::FILE* err, PrintOptions options)
      : out_(out), err_(err), options_(options) {}

  // `json_line`: with -o json, the event's line to print (see the file comment).
  void Print(const flow::Event& ev, absl::string_view json_line = {});
  // Flushes the streams; the table format writes its aligned rows here.
  void Flush();
  uint64_t flows_printed() const {
    absl::MutexLock lock(&mu_);
    return flows_;
  }

 private:
  void Row(std::vector<std::string> cells) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The line to print for the event; nullopt when it became a table row instead.
  std::optional<std::string> LostEventText(const flow::LostEvent& l, absl::string_view json_line)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<std::string> FlowText(const flow::Flow& f, absl::string_view json_line)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::FILE* out_;
  std::FILE* err_;
  PrintOptions options_;
  mutable absl::Mutex mu_;
  uint64_t flows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t records_ ABSL_GUARDED_BY(mu_) = 0;                        // dict separators
  std::vector<std::vector<std::string>> rows_ ABSL_GUARDED_BY(mu_);  // table
};

}  // namespace tw::cli
