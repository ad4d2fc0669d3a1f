// The cpp-httplib adapter on a real loopback socket (port 0): requests reach the routes
// with their path and parameters, responses come back whole; a port in use and an
// unreachable server are errors that name the address and the cause.
#include "api/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "api/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tw::api {
namespace {

using ::testing::HasSubstr;

Response Echo(const Request& r) {
  if (r.path == "/boom") throw std::runtime_error("boom");
  if (r.path == "/missing") return Response{404, "application/json", "{\"error\":\"gone\"}"};
  std::string body = absl::StrCat(r.method, " ", r.path);
  for (const auto& [k, v] : r.params) absl::StrAppend(&body, " ", k, "=", v);
  return Response{200, "application/json", absl::StrCat("{\"echo\":\"", body, "\"}")};
}

TEST(HttpTest, ServesOnLoopbackAndTheClientReadsIt) {
  HttpServer server(Echo);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.address(), absl::StrCat("127.0.0.1:", server.port()));
  const std::string base = absl::StrCat("http://", server.address());

  auto r = HttpGet(base, "/api/v1/drops?class=dns_blocked&namespace=kube%2Dsystem");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{\"echo\":\"GET /api/v1/drops class=dns_blocked namespace=kube-system\"}");

  // Without a scheme, and with a path prefix (behind a proxy).
  r = HttpGet(server.address(), "/x");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->body, HasSubstr("GET /x"));
  r = HttpGet(base + "/prefix/", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->body, HasSubstr("GET /prefix/x"));

  // A handler that throws answers 500; the server lives on.
  r = HttpGet(base, "/boom");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);

  auto j = GetJson(base, "/missing");
  EXPECT_TRUE(absl::IsNotFound(j.status()));
  EXPECT_THAT(std::string(j.status().message()), HasSubstr("answered 404: gone"));
  j = GetJson(base, "/y?a=1");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["echo"], "GET /y a=1");
  server.Stop();
  server.Stop();  // idempotent
}

// Sends raw bytes to the server and returns the status line (HTTP/1.1 NNN ...).
std::string RawStatusLine(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading it all
    off += static_cast<size_t>(n);
  }
  std::string got;
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n > 0) got.assign(buf, static_cast<size_t>(n));
  ::close(fd);
  return got.substr(0, got.find("\r\n"));
}

class HttpAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.bearer_token = "s3cret-token";
    server_ = std::make_unique<HttpServer>(Echo, o);
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    base_ = absl::StrCat("http://", server_->address());
  }
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(HttpAuthTest, WithoutOrWithAWrongTokenTheAnswerIs401WithAJsonBody) {
  auto r = HttpGet(base_, "/api/v1/drops");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_THAT(r->body, HasSubstr("authentication required"));
  EXPECT_THAT(r->body, ::testing::Not(HasSubstr("s3cret")));
  for (const char* wrong : {"s3cret-toke", "s3cret-token-", "S3cret-token", "x"}) {
    r = HttpGet(base_, "/metrics", {.bearer_token = wrong});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << wrong;
  }
  // Basic auth or a bare token is not a bearer token.
  EXPECT_THAT(RawStatusLine(server_->port(),
                            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: s3cret-token\r\n"
                            "Connection: close\r\n\r\n"),
              HasSubstr(" 401 "));
}

TEST_F(HttpAuthTest, TheRightTokenIsServedAndProbesNeedNone) {
  auto r = HttpGet(base_, "/api/v1/drops?limit=1", {.bearer_token = "s3cret-token"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("GET /api/v1/drops limit=1"));
  for (const char* probe : {"/healthz", "/readyz"}) {
    r = HttpGet(base_, probe);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << probe;
  }
}

TEST(HttpLimitsTest, OversizedRequestsAreRejectedAndWritesAreNotAllowed) {
  HttpServerOptions o;
  o.max_target = 1024;
  o.max_body = 1024;
  HttpServer server(
      [](const Request& r) -> Response {
        if (r.method != "GET") return Response{405, "application/json", "{\"status\":405}"};
        return Echo(r);
      },
      o);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const std::string base = absl::StrCat("http://", server.address());
  auto r = HttpGet(base, "/x?q=" + std::string(2000, 'a'));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 414);
  EXPECT_THAT(r->body, HasSubstr("longer than 1024 bytes"));
  EXPECT_THAT(RawStatusLine(server.port(), absl::StrCat("POST /x HTTP/1.1\r\nHost: x\r\n"
                                                        "Content-Length: 100000\r\n"
                                                        "Connection: close\r\n\r\n",
                                                        std::string(4096, 'b'))),
              HasSubstr(" 413 "));
  // The server still serves afterwards.
  r = HttpGet(base, "/ok");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpAuthHelpersTest, ConstantTimeEqualsAndTheTokenFile) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));

  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/tw_token_good", empty = dir + "/tw_token_empty";
  std::ofstream(good) << "  tok-123 \nsecond line ignored\n";
  std::ofstream(empty) << "\n";
  auto t = ReadBearerTokenFile(good);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "tok-123");
  auto e = ReadBearerTokenFile(empty);
  EXPECT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("is empty"));
  auto m = ReadBearerTokenFile(dir + "/tw_token_missing");
  EXPECT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("tw_token_missing"));
  std::remove(good.c_str());
  std::remove(empty.c_str());
}

TEST(HttpTest, APortInUseIsAnErrorNamingIt) {
  HttpServer first(Echo);
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  HttpServer second(Echo);
  absl::Status st = second.Start(first.address());
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("cannot listen on " + first.address()));
  EXPECT_THAT(std::string(st.message()), HasSubstr("http.listen"));
  EXPECT_FALSE(HttpServer(Echo).Start("nonsense").ok());
}

TEST(HttpTest, AnUnreachableServerNamesTheUrlAndTheCause) {
  // Bind and close a port so that nothing listens there.
  int port = 0;
  {
    HttpServer s(Echo);
    ASSERT_TRUE(s.Start("127.0.0.1:0").ok());
    port = s.port();
  }
  auto r = HttpGet(absl::StrCat("http://127.0.0.1:", port), "/api/v1/status");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status()));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr(absl::StrCat("cannot reach tierwatch at http://127.0.0.1:", port,
                                     "/api/v1/status: connection failed")));
  EXPECT_TRUE(absl::IsInvalidArgument(HttpGet("ftp://x", "/").status()));
  EXPECT_EQ(UrlEncode("a b/c"), "a%20b%2fc");
}

}  // namespace
}  // namespace tw::api
