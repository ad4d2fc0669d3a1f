// Glob matching where `*` is the only wildcard and the caller says which characters a star
// may swallow (a DNS label's characters for FQDN patterns, anything but '/' for node names).
//
//   bool dns = tw::GlobMatch("*.example.com", "api.example.com",
//                            [](char c) { return c != '.'; });  // true
//
// Iterative with single-star backtracking: linear in practice, no recursion.
#pragma once

#include "absl/strings/string_view.h"

namespace tw {

template <typename Allowed>
bool GlobMatch(absl::string_view pattern, absl::string_view s, Allowed allowed) {
  size_t p = 0, i = 0, star = absl::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pattern.size() && pattern[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != absl::string_view::npos && allowed(s[mark])) {
      // Let the star swallow one more character.
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace tw
