// The cpp-httplib adapter on a real loopback socket (port 0): requests reach the routes
// with their path and parameters, responses come back whole; a port in use and an
// unreachable server are errors that name the address and the cause.
#include "api/http.h"

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
