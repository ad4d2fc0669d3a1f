// The one home of cpp-httplib: the daemon's HTTP server (serving api::Handle) and the
// small client `tierwatch drops` / `tierwatch explain` use. Nothing else includes httplib,
// so its compile flags and exceptions stay inside src/api/http.cc.
//
//   tw::api::HttpServer server([&](const tw::api::Request& r) { return Handle(r, state); });
//   absl::Status st = server.Start("127.0.0.1:0");   // binds now: errors name the address
//   server.address();                                 // "127.0.0.1:41234"
//   server.Stop();                                    // in-flight requests finish first
//
//   absl::StatusOr<tw::api::Response> r = tw::api::HttpGet("http://127.0.0.1:9977",
//                                                           "/api/v1/drops?limit=5");
//   // !r.ok(): Unavailable naming the URL and the cause (refused, timed out, ...)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/routes.h"

namespace tw::api {

using RequestHandler = std::function<Response(const Request&)>;

struct HttpServerOptions {
  int threads = 4;  // concurrent requests (scrapes, probes, on-call CLIs)
  absl::Duration read_timeout = absl::Seconds(5);
  // Non-empty: every request but the probes (/healthz, /readyz: no data, and kubelet
  // probes carry no token) needs "Authorization: Bearer <token>"; others get 401 with a
  // JSON body. Compared in constant time.
  std::string bearer_token;
  // Requests with a longer target (path and query) get 414; bodies over max_body get 413.
  size_t max_target = 8 * 1024;
  size_t max_body = 64 * 1024;
};

// Reads a bearer token file (http.bearer_token_file): the first line, whitespace trimmed.
// Errors name the file; an empty token is an error (it would let everyone in by mistake).
absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path);

// Constant-time equality (the time depends on the lengths only, not where they differ).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

class HttpServer {
 public:
  explicit HttpServer(RequestHandler handler, HttpServerOptions options = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `listen` (":9977", "127.0.0.1:0", "[::1]:9977") and serves on a thread of its
  // own. An address in use or not permitted is an error here, naming it.
  absl::Status Start(const std::string& listen);
  // "host:port" actually bound (the port filled in when 0 was asked for).
  std::string address() const { return address_; }
  int port() const { return port_; }
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string address_;
  int port_ = 0;
  std::thread thread_;
};

struct HttpGetOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration read_timeout = absl::Seconds(30);
  std::string bearer_token;  // sent as "Authorization: Bearer ..." when non-empty
};

// GET `path_and_query` from `base_url` ("http://host:9977", "host:9977", or with a path
// prefix "http://host/tierwatch"). Any HTTP status is a Response; only a transport failure
// is an error (Unavailable, naming the URL and the cause; InvalidArgument for a bad URL).
absl::StatusOr<Response> HttpGet(const std::string& base_url, const std::string& path_and_query,
                                 HttpGetOptions options = {});

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& value);

}  // namespace tw::api
