// cpp-httplib is used here only (see http.h). Its exceptions never escape: handlers catch
// everything and answer 500.
#include "api/http.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "config/config.h"
#include "httplib.h"
#include "spdlog/spdlog.h"

namespace tw::api {

struct HttpServer::Impl {
  httplib::Server server;
  std::atomic<bool> ended{false};  // listen_after_bind returned
};

HttpServer::HttpServer(RequestHandler handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  httplib::Server& s = impl_->server;
  const size_t threads = static_cast<size_t>(std::max(1, options.threads));
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_read_timeout(std::chrono::microseconds(absl::ToInt64Microseconds(options.read_timeout)));
  s.set_payload_max_length(options.max_body);  // GET only: nothing big ever comes in
  // httplib's default adds SO_REUSEPORT, which lets a second daemon bind the same port and
  // silently share the scrapes; SO_REUSEADDR alone still allows a quick restart.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });
  auto serve = [handler, options](const httplib::Request& req, httplib::Response& res) {
    if (req.target.size() > options.max_target) {
      res.status = 414;
      res.set_content(absl::StrCat("{\"error\":\"request target longer than ", options.max_target,
                                   " bytes\",\"status\":414}\n"),
                      "application/json");
      return;
    }
    if (!options.bearer_token.empty() && req.path != "/healthz" && req.path != "/readyz") {
      const std::string& auth = req.get_header_value("Authorization");
      absl::string_view given = auth;
      if (!absl::ConsumePrefix(&given, "Bearer ") ||
          !ConstantTimeEquals(given, options.bearer_token)) {
        // Neither the expected nor the given token is logged.
        spdlog::info("http request refused method={} path={} reason={}", req.method, req.path,
                     auth.empty() ? "no_token" : "wrong_token");
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"tierwatch\"");
        res.set_content(
            "{\"error\":\"authentication required: send Authorization: Bearer <token> "
            "(http.bearer_token_file)\",\"status\":401}\n",
            "application/json");
        return;
      }
    }
    Request r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.params.emplace_back(k, v);
    Response out;
    try {
      out = handler(r);
    } catch (const std::exception& e) {
      spdlog::error("http handler failed method={} path={} error=\"{}\"", req.method, req.path,
                    e.what());
      out = Response{500, "application/json",
                     "{\"error\":\"internal error (see the daemon's log)\",\"status\":500}\n"};
    }
    res.status = out.status;
    res.set_content(std::move(out.body), out.content_type.c_str());
    spdlog::debug("http request method={} path={} status={}", req.method, req.path, res.status);
  };
  // Every method reaches the routes, which answer 405 for anything but GET/HEAD.
  s.Get(".*", serve);
  s.Post(".*", serve);
  s.Put(".*", serve);
  s.Patch(".*", serve);
  s.Delete(".*", serve);
  s.Options(".*", serve);
}

HttpServer::~HttpServer() { Stop(); }

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Every byte of the longer input is visited whatever the contents, so the time tells an
  // attacker nothing about where a guess first differs.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  // Keep the compiler from turning the loop into an early exit.
  volatile unsigned char result = diff;
  return result == 0;
}

absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("http.bearer_token_file: cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string line;
  std::getline(in, line);
  absl::string_view token = absl::StripAsciiWhitespace(line);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("http.bearer_token_file: ", path,
                                                   " is empty; put the token on its first line"));
  }
  return std::string(token);
}

absl::Status HttpServer::Start(const std::string& listen) {
  std::string host, error;
  int port = 0;
  if (!config::ParseListenAddress(listen, &host, &port, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("http.listen: ", error));
  }
  const std::string bind_host = host.empty() ? "0.0.0.0" : host;
  errno = 0;
  int bound = 0;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(bind_host);
    if (bound <= 0) bound = 0;
  } else if (impl_->server.bind_to_port(bind_host, port)) {
    bound = port;
  }
  if (bound == 0) {
    const int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", listen, " (http.listen): ",
        err != 0 ? std::strerror(err) : "address in use, not available or not permitted",
        "; choose another http.listen, or \"\" to run without the HTTP server"));
  }
  port_ = bound;
  address_ = absl::StrCat(
      absl::StrContains(bind_host, ':') ? absl::StrCat("[", bind_host, "]") : bind_host, ":",
      bound);
  thread_ = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->ended = true;
  });
  // httplib's stop() does nothing until the listening loop runs: wait for it, so that a
  // Stop() right after Start() cannot leave the thread listening forever.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!impl_->server.is_running() && !impl_->ended && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!impl_->server.is_running()) {
    impl_->server.stop();
    thread_.detach();  // nothing listens; the thread has returned or never will matter
    return absl::InternalError(absl::StrCat("the HTTP server on ", address_, " did not start"));
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  impl_->server.stop();
  thread_.join();
}

namespace {

std::string Describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection failed (nothing listening there, or unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "timed out connecting";
    case httplib::Error::Read:
      return "connection closed or timed out while reading the response";
    case httplib::Error::Write:
      return "connection closed while sending the request";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLServerVerification:
    case httplib::Error::SSLLoadingCerts:
      return absl::StrCat("TLS failed (", httplib::to_string(e), ")");
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

absl::StatusOr<Response> HttpGet(const std::string& base_url, const std::string& path_and_query,
                                 HttpGetOptions options) {
  // Split "scheme://host:port/prefix" into what httplib's client takes and a path prefix.
  absl::string_view rest = base_url;
  std::string scheme = "http";
  if (size_t p = rest.find("://"); p != absl::string_view::npos) {
    scheme = std::string(rest.substr(0, p));
    rest.remove_prefix(p + 3);
  }
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("bad server URL \"", base_url, "\": expected http://HOST:PORT"));
  }
  std::string prefix;
  if (size_t p = rest.find('/'); p != absl::string_view::npos) {
    prefix = std::string(absl::StripSuffix(rest.substr(p), "/"));
    rest = rest.substr(0, p);
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad server URL \"", base_url, "\": no host (expected http://HOST:PORT)"));
  }
  std::string host_port(rest);
  if (host_port.find(':') == std::string::npos || absl::EndsWith(host_port, "]")) {
    host_port += scheme == "https" ? ":443" : ":9977";  // tierwatch's port by default
  }
  try {
    httplib::Client client(absl::StrCat(scheme, "://", host_port));
    if (!client.is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("bad server URL \"", base_url, "\""));
    }
    client.set_connection_timeout(
        std::chrono::microseconds(absl::ToInt64Microseconds(options.connect_timeout)));
    client.set_read_timeout(
        std::chrono::microseconds(absl::ToInt64Microseconds(options.read_timeout)));
    const std::string url = absl::StrCat(scheme, "://", host_port, prefix, path_and_query);
    httplib::Headers headers;
    if (!options.bearer_token.empty()) {
      headers.emplace("Authorization", absl::StrCat("Bearer ", options.bearer_token));
    }
    httplib::Result res = client.Get(absl::StrCat(prefix, path_and_query), headers);
    if (!res) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach tierwatch at ", url, ": ", Describe(res.error())));
    }
    Response out;
    out.status = res->status;
    out.content_type = res->get_header_value("Content-Type");
    out.body = std::move(res->body);
    return out;
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach tierwatch at ", base_url, ": ", e.what()));
  }
}

std::string UrlEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

}  // namespace tw::api
