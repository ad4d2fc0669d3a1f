// Status helpers missing from Abseil 20220623 (Debian 12).
//
//   absl::StatusOr<Config> Load(const std::string& path) {
//     TW_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     TW_RETURN_IF_ERROR(Validate(text));
//     ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TW_STATUS_CONCAT_INNER(a, b) a##b
#define TW_STATUS_CONCAT(a, b) TW_STATUS_CONCAT_INNER(a, b)

#define TW_RETURN_IF_ERROR(expr)              \
  do {                                        \
    const ::absl::Status tw_status_ = (expr); \
    if (!tw_status_.ok()) return tw_status_;  \
  } while (0)

#define TW_ASSIGN_OR_RETURN(lhs, expr) \
  TW_ASSIGN_OR_RETURN_IMPL(TW_STATUS_CONCAT(tw_statusor_, __LINE__), lhs, expr)

#define TW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
