// Invariants that crash loudly. TW_CHECK(cond) << nothing: it takes the condition and a
// message, and when the condition is false it prints "file:line: check failed: cond: message"
// to stderr and aborts. It is for what the code itself guarantees (an enum switch that covers
// every value, an index computed a line above, a pointer an options struct marks "required"),
// never for input: bad input is an absl::Status with file:line of the input.
//
//   absl::string_view SideName(Side s) {
//     switch (s) {
//       case Side::kSource: return "source";
//       case Side::kDestination: return "destination";
//     }
//     TW_UNREACHABLE("Side ", static_cast<int>(s));
//   }
//
//   TW_CHECK(context.tiers != nullptr, "ClassifierContext.tiers is required");
//   TW_CHECK(i < rows.size(), "row ", i, " of ", rows.size());
//
// Checks stay on in release builds: they guard cheap conditions, and a wrong answer given
// quietly costs more than a crash an operator can report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"

namespace tw::internal {

// Prints the failure and aborts. Not inline-worthy: kept out of the callers' hot paths.
[[noreturn]] inline ABSL_ATTRIBUTE_NOINLINE void CheckFailed(const char* file, int line,
                                                             const char* condition,
                                                             const std::string& message) {
  std::fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, condition,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tw::internal

// Aborts with file:line, the condition and the message (absl::StrCat of the trailing
// arguments, evaluated only on failure) when `cond` is false.
#define TW_CHECK(cond, ...)                                                                \
  do {                                                                                     \
    if (ABSL_PREDICT_FALSE(!(cond))) {                                                     \
      ::tw::internal::CheckFailed(__FILE__, __LINE__, #cond, ::absl::StrCat(__VA_ARGS__)); \
    }                                                                                      \
  } while (0)

// Marks a point the code cannot reach (after a switch over every enum value).
#define TW_UNREACHABLE(...) \
  ::tw::internal::CheckFailed(__FILE__, __LINE__, "unreachable", ::absl::StrCat(__VA_ARGS__))
