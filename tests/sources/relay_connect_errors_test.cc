// RelayClient's connection failures against real loopback peers: a closed port, an
// unresolvable name, an HTTP/1.x server, a TLS relay spoken to in plaintext, a plaintext
// relay spoken to with TLS, a TLS relay with an untrusted CA, the wrong server name and a
// missing client certificate. Each must end a command's Run() (fail_if_unreachable) with
// its own cause and a fix, not a generic "cannot connect".
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "observer/observer.grpc.pb.h"
#include "replay/test_certs.h"
#include "sources/relay/relay_client.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace tw::sources {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Answering final : public ::observer::Observer::Service {
  grpc::Status ServerStatus(grpc::ServerContext*, const ::observer::ServerStatusRequest*,
                            ::observer::ServerStatusResponse* r) override {
    r->set_version("test-relay");
    return grpc::Status::OK;
  }
  grpc::Status GetFlows(grpc::ServerContext*, const ::observer::GetFlowsRequest*,
                        grpc::ServerWriter<::observer::GetFlowsResponse>*) override {
    return grpc::Status::OK;
  }
};

// A gRPC relay on 127.0.0.1:0, plaintext or TLS (optionally requiring client certificates).
class TestRelay {
 public:
  explicit TestRelay(std::shared_ptr<grpc::ServerCredentials> creds) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", creds, &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
  }
  ~TestRelay() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  Answering service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A TCP server that answers every request with an HTTP/1.1 400, as a web server would.
class Http1Server {
 public:
  Http1Server() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        (void)!read(c, buf, sizeof(buf));
        const char* r =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!write(c, r, strlen(r));
        close(c);
      }
    });
  }
  ~Http1Server() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(a.sin_port));
}

struct Outcome {
  absl::Status status;
  bool finished = false;
  std::optional<ConnectDiagnosis> diagnosis;
  int flows_callbacks = 0;
};

// Runs a command-style client (fail_if_unreachable) with a watchdog far beyond the budget.
Outcome Connect(RelayClientOptions o) {
  o.fail_if_unreachable = true;
  o.follow = false;
  o.backoff = {absl::Milliseconds(20), absl::Milliseconds(100), 2.0, 0.5};
  flow::SymbolTable symbols;
  RelayClient client(o, symbols);
  Outcome out;
  std::atomic<bool> finished{false};
  std::thread t([&] {
    out.status = client.Run([&](flow::Event&&) {
      ++out.flows_callbacks;
      return true;
    });
    finished = true;
  });
  absl::Time deadline = absl::Now() + o.connect_timeout + absl::Seconds(30);
  while (!finished && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  out.finished = finished;
  client.Stop();
  t.join();
  out.diagnosis = client.last_connect_error();
  return out;
}

class RelayConnectErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (tw::replay::testing::OpensslAvailable()) pki_ = tw::replay::testing::MakeTestPki();
  }
  static void TearDownTestSuite() {
    if (pki_) std::filesystem::remove_all(pki_->dir);
  }
  void RequirePki() {
    if (!pki_) GTEST_SKIP() << "openssl is not available to make test certificates";
  }
  std::shared_ptr<grpc::ServerCredentials> TlsServer(bool require_client_cert = false) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({Slurp(pki_->server_key), Slurp(pki_->server_crt)});
    if (require_client_cert) {
      ssl.pem_root_certs = Slurp(pki_->ca_crt);
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    return grpc::SslServerCredentials(ssl);
  }
  RelayClientOptions Opts(const std::string& addr) {
    RelayClientOptions o;
    o.address = addr;
    o.connect_timeout = absl::Seconds(5);
    return o;
  }
  static std::optional<tw::replay::testing::TestPki> pki_;
};
std::optional<tw::replay::testing::TestPki> RelayConnectErrors::pki_;

void ExpectCause(const Outcome& out, ConnectCause cause, const std::string& what_part,
                 const std::string& fix_part) {
  ASSERT_TRUE(out.finished) << "Run() did not give up";
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  ASSERT_TRUE(out.diagnosis.has_value());
  EXPECT_EQ(out.diagnosis->cause, cause)
      << ConnectCauseName(out.diagnosis->cause) << ": " << out.diagnosis->grpc_message;
  EXPECT_THAT(std::string(out.status.message()), HasSubstr(what_part));
  EXPECT_THAT(std::string(out.status.message()), HasSubstr(fix_part));
  EXPECT_EQ(out.status.message().find("TRANSIENT_FAILURE"), std::string::npos);
}

TEST_F(RelayConnectErrors, ClosedPortGivesUpWithinTheConnectTimeout) {
  RelayClientOptions o = Opts(ClosedPort());
  o.connect_timeout = absl::Milliseconds(600);
  o.follow = true;  // even -f: a command that never connected gives up
  Outcome out = Connect(o);
  ExpectCause(out, ConnectCause::kRefused, "connection refused", "port-forward");
}

TEST_F(RelayConnectErrors, UnresolvableName) {
  Outcome out = Connect(Opts("no-such-relay.invalid:4245"));
  ASSERT_TRUE(out.finished);
  ASSERT_TRUE(out.diagnosis.has_value());
  if (out.diagnosis->cause == ConnectCause::kTimeout) {
    GTEST_SKIP() << "the resolver did not answer in time here: " << out.diagnosis->grpc_message;
  }
  ExpectCause(out, ConnectCause::kUnresolvable, "cannot resolve host \"no-such-relay.invalid\"",
              "inside the cluster");
}

TEST_F(RelayConnectErrors, Http1ServerIsNotGrpc) {
  Http1Server http;
  Outcome out = Connect(Opts(http.address()));
  ExpectCause(out, ConnectCause::kNotGrpc, "HTTP/1.x, not gRPC", "4245");
}

TEST_F(RelayConnectErrors, PlaintextToTlsRelaySuggestsTls) {
  RequirePki();
  TestRelay relay(TlsServer());
  Outcome out = Connect(Opts(relay.address()));
  ExpectCause(out, ConnectCause::kPlaintextToTls, "speaks TLS", "--tls");
}

TEST_F(RelayConnectErrors, TlsToPlaintextRelaySuggestsDroppingTls) {
  RequirePki();
  TestRelay relay(grpc::InsecureServerCredentials());
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->ca_crt};
  Outcome out = Connect(o);
  ExpectCause(out, ConnectCause::kTlsToPlaintext, "does not speak TLS", "drop --tls");
}

TEST_F(RelayConnectErrors, UnknownCaNamesTheCaFile) {
  RequirePki();
  TestRelay relay(TlsServer());
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->other_ca_crt};
  Outcome out = Connect(o);
  ExpectCause(out, ConnectCause::kTlsUnknownCa, "not signed by a CA you trust", pki_->other_ca_crt);
}

TEST_F(RelayConnectErrors, WrongServerNameSuggestsTlsServerName) {
  RequirePki();
  TestRelay relay(TlsServer());
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->ca_crt};
  o.tls.server_name = "relay.wrong.example";
  Outcome out = Connect(o);
  ExpectCause(out, ConnectCause::kTlsNameMismatch, "\"relay.wrong.example\"",
              "--tls-server-name ui.hubble-relay.cilium.io");
}

TEST_F(RelayConnectErrors, MissingClientCertificateSuggestsMtlsFlags) {
  RequirePki();
  TestRelay relay(TlsServer(/*require_client_cert=*/true));
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->ca_crt};
  Outcome out = Connect(o);
  ExpectCause(out, ConnectCause::kTlsClientCertRequired, "client certificate",
              "--tls-client-cert-file and --tls-client-key-file");
}

TEST_F(RelayConnectErrors, RightCaAndNameConnect) {
  RequirePki();
  TestRelay relay(TlsServer());
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->ca_crt};
  o.tls.server_name = "ui.hubble-relay.cilium.io";
  Outcome out = Connect(o);
  ASSERT_TRUE(out.finished);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_FALSE(out.diagnosis.has_value());
}

// cert-manager rotates the CA bundle or the client certificate in place: the next
// reconnect reads the files anew, so no restart is needed. Here the CA file first holds
// the wrong CA (every attempt fails), then is replaced by the right one while the client
// keeps retrying; the client must connect without being restarted.
TEST_F(RelayConnectErrors, RotatedTlsFilesAreReadAtTheNextReconnect) {
  RequirePki();
  TestRelay relay(TlsServer());
  const std::string ca = pki_->dir + "/rotating-ca.crt";
  std::ofstream(ca) << Slurp(pki_->other_ca_crt);
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {ca};
  o.tls.server_name = "ui.hubble-relay.cilium.io";
  o.follow = false;
  o.backoff = {absl::Milliseconds(20), absl::Milliseconds(100), 2.0, 0.5};
  flow::SymbolTable symbols;
  RelayClient client(o, symbols);
  absl::Notification done;
  absl::Status status;
  std::thread t([&] {
    status = client.Run([](flow::Event&&) { return true; });
    done.Notify();
  });
  // Wait until an attempt has failed on the wrong CA, then rotate the file atomically.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!client.last_connect_error().has_value() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(client.last_connect_error().has_value()) << "no attempt failed on the wrong CA";
  EXPECT_EQ(client.last_connect_error()->cause, ConnectCause::kTlsUnknownCa);
  std::ofstream(ca + ".new") << Slurp(pki_->ca_crt);
  std::filesystem::rename(ca + ".new", ca);
  const bool connected = done.WaitForNotificationWithTimeout(absl::Seconds(30));
  client.Stop();
  t.join();
  EXPECT_TRUE(connected) << "the client kept the CA it read first";
  EXPECT_TRUE(status.ok()) << status;
}

// A relay certificate past its notAfter: refused, the message says the certificate could
// not be verified (Run gives up, nothing streams).
TEST_F(RelayConnectErrors, ExpiredServerCertificateIsRefused) {
  RequirePki();
  // Signed by the trusted CA, valid for zero days: expired one second after it is made.
  const std::string cmd = absl::StrCat(
      "cd '", pki_->dir,
      "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout expired.key -out expired.csr -subj '/CN=relay.test' >> openssl.log 2>&1 && "
      "openssl x509 -req -in expired.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 0 "
      "-extfile server.ext -out expired.crt >> openssl.log 2>&1");
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl could not make the certificate";
  const absl::Time made = absl::Now();
  // Bounded: the certificate's validity ends at the second it was made.
  absl::SleepFor(absl::Seconds(2) - (absl::Now() - made));
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back(
      {Slurp(pki_->dir + "/expired.key"), Slurp(pki_->dir + "/expired.crt")});
  TestRelay relay(grpc::SslServerCredentials(ssl));
  RelayClientOptions o = Opts(relay.address());
  o.tls.enabled = true;
  o.tls.ca_files = {pki_->ca_crt};
  Outcome out = Connect(o);
  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  EXPECT_EQ(out.flows_callbacks, 0);
  ASSERT_TRUE(out.diagnosis.has_value());
  EXPECT_THAT(std::string(out.status.message()), HasSubstr("certificate")) << out.status;
}

// mTLS with a client key: nothing of the key (PEM armour or its base64 body) reaches the
// logs, at debug level, on success or on failure.
TEST_F(RelayConnectErrors, KeyMaterialNeverAppearsInTheLogs) {
  RequirePki();
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  {
    TestRelay relay(TlsServer(/*require_client_cert=*/true));
    RelayClientOptions o = Opts(relay.address());
    o.tls.enabled = true;
    o.tls.ca_files = {pki_->ca_crt};
    o.tls.server_name = "ui.hubble-relay.cilium.io";
    o.tls.cert_file = pki_->client_crt;
    o.tls.key_file = pki_->client_key;
    EXPECT_TRUE(Connect(o).status.ok());
    o.tls.ca_files = {pki_->other_ca_crt};  // and a failing handshake
    EXPECT_FALSE(Connect(o).status.ok());
  }
  spdlog::set_default_logger(previous);
  const std::string text = logs.str();
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  std::istringstream key(Slurp(pki_->client_key));
  for (std::string line; std::getline(key, line);) {
    if (line.empty() || line.rfind("-----", 0) == 0) continue;
    EXPECT_EQ(text.find(line.substr(0, 24)), std::string::npos) << "key bytes in the log";
  }
}

// A daemon-style client (retrying forever) that never connected must not log a "stream
// interrupted": no stream ever started. It logs the cause instead.
TEST(RelayClientLogs, NeverConnectedSaysCannotConnectNotInterrupted) {
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  RelayClientOptions o;
  o.address = ClosedPort();
  o.connect_timeout = absl::Seconds(2);
  o.backoff = {absl::Milliseconds(10), absl::Milliseconds(20), 2.0, 0.5};
  o.max_attempts = 3;  // bounded, but not fail_if_unreachable: the daemon's path
  flow::SymbolTable symbols;
  RelayClient client(o, symbols);
  absl::Status st = client.Run([](flow::Event&&) { return true; });
  spdlog::set_default_logger(previous);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(logs.str(), HasSubstr("relay cannot connect"));
  EXPECT_THAT(logs.str(), HasSubstr("cause=refused"));
  EXPECT_EQ(logs.str().find("stream interrupted"), std::string::npos) << logs.str();
}

TEST(ConnectDiagnosisTest, DeadlineMeansSilentPeerOnlyWhenConnected) {
  RelayClientOptions o;
  o.address = "10.0.0.1:4245";
  o.connect_timeout = absl::Seconds(3);
  auto silent = DiagnoseConnectFailure(static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED),
                                       "Deadline Exceeded", /*tcp_connects=*/true, o);
  EXPECT_EQ(silent.cause, ConnectCause::kSilentPeer);
  EXPECT_THAT(silent.what, HasSubstr("did not answer gRPC within 3s"));
  auto unreachable = DiagnoseConnectFailure(static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED),
                                            "Deadline Exceeded", false, o);
  EXPECT_EQ(unreachable.cause, ConnectCause::kTimeout);
  EXPECT_THAT(unreachable.ToString(o.address),
              HasSubstr("cannot connect to relay 10.0.0.1:4245: no connection within 3s"));
}

}  // namespace
}  // namespace tw::sources
