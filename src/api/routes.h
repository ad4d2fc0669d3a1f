// The HTTP API's routes as one pure function of a request and a read-only StateView: no
// sockets, no threads, so every status code and body is unit-tested directly
// (tests/api/routes_test.cc). api/http.h serves it with cpp-httplib.
//
//   tw::api::Request req{"GET", "/api/v1/drops", {{"class", "dns_blocked"}, {"limit", "10"}}};
//   tw::api::Response resp = tw::api::Handle(req, state);
//   resp.status;        // 200
//   resp.content_type;  // "application/json"
//
// Endpoints (docs/api.md): /metrics, /healthz, /readyz, /api/v1/status,
// /api/v1/drops?class=&namespace=&severity=&since=&limit=, /api/v1/drops/{id},
// /api/v1/connections?class=&severity=&limit=, /api/v1/baseline?format=json|yaml,
// /api/v1/suggestions?format=yaml|json (a suggest::Bundle, 200 even when empty).
// Errors: 400 for a bad or unknown parameter, 404 for an unknown path or id, 405 for a
// method other than GET/HEAD, 503 when not ready or not available now; always with a JSON
// body {"error": "...", "status": N} (except /metrics, /healthz, /readyz: text).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/state.h"

namespace tw::api {

struct Request {
  std::string method = "GET";
  std::string path;
  // Query parameters in order (a name may repeat; the routes reject repeats).
  std::vector<std::pair<std::string, std::string>> params;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

Response Handle(const Request& request, const StateView& state);

// Lists are bounded: `limit` defaults to kDefaultLimit and may not exceed kMaxLimit.
inline constexpr size_t kDefaultLimit = 100;
inline constexpr size_t kMaxLimit = 10000;

}  // namespace tw::api
