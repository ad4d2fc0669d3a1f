// JSON text for every `-o json` renderer and API body: one place where nlohmann's dump is
// called, so no renderer can throw. nlohmann's default dump throws type_error 316 on a string
// that is not valid UTF-8 — a Latin-1 policy file, a \xff byte in a workload name, a mutated
// snapshot — and an uncaught exception aborts the CLI. Here invalid bytes become U+FFFD
// (the replacement character), so the document stays valid JSON and says something is off.
//
//   std::cout << tw::DumpJson(j, 2) << "\n";   // indented, as `-o json` prints
//   resp.body = tw::DumpJson(body);            // compact, as the API serves
//
// A template over the JSON type (json, ordered_json) so common/ needs no nlohmann link.
#pragma once

#include <string>

namespace tw {

// `indent` < 0: compact, one line; otherwise pretty-printed with that many spaces.
template <typename Json>
std::string DumpJson(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace tw
