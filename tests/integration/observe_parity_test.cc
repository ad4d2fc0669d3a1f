// `tierwatch observe` and `tierwatch replay` as a hubble user meets them: the real binary
// against a real replay process (plaintext and TLS, certificates made at test time), a
// closed port, a busy port; -o json compared byte for byte with the capture hubble wrote;
// hubble's filter flags and refusals.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/test_certs.h"
#include "testing/paths.h"
#include "testing/run.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using Result = testing::RunResult;
using testing::Slurp;

std::vector<std::string> Lines(const std::string& s) {
  return absl::StrSplit(s, '\n', absl::SkipEmpty());
}

// Flow lines only: lost events pass every filter, as Hubble passes them.
std::vector<std::string> FlowLines(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& l : Lines(s)) {
    if (!absl::StartsWith(l, "EVENTS LOST")) out.push_back(l);
  }
  return out;
}

class ObserveParity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("tw_observe_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    after_ = testing::SourceDir() + "/examples/zero-trust-rollout/after.jsonl";
  }
  void TearDown() override {
    for (pid_t p : children_) {
      kill(p, SIGTERM);
      waitpid(p, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  // The binary with a hard time limit: a command that should give up must not hang here.
  Result Run(const std::string& args) {
    return testing::RunTierwatch(args, dir_, {.timeout_s = 60});
  }
  // A replay process; returns its address ("" if it did not start).
  std::string StartReplay(const std::vector<std::string>& extra) {
    fs::path out = dir_ / absl::StrCat("replay", children_.size(), ".out");
    pid_t pid = fork();
    if (pid == 0) {
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, STDOUT_FILENO);
      int devnull = ::open("/dev/null", O_WRONLY);
      dup2(devnull, STDERR_FILENO);
      std::vector<std::string> args = {
          testing::TierwatchBin(), "replay", "--capture", after_, "--listen", "127.0.0.1:0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    children_.push_back(pid);
    for (int i = 0; i < 600; ++i) {  // bounded: 30 s
      std::string s = Slurp(out);
      if (absl::StartsWith(s, "listening on ") && s.find('\n') != std::string::npos) {
        return std::string(absl::StripSuffix(s.substr(13, s.find('\n') - 13), "\r"));
      }
      usleep(50000);
    }
    return "";
  }
  std::string ClosedPort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return absl::StrCat("127.0.0.1:", ntohs(a.sin_port));
  }
  void ExpectNoGrpcDump(const Result& r) {
    EXPECT_THAT(r.err, Not(HasSubstr("ssl_transport_security"))) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("chttp2"))) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("TRANSIENT_FAILURE"))) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("stream interrupted"))) << r.err;
  }

  fs::path dir_;
  std::string after_;
  std::vector<pid_t> children_;
};

// -o json prints what hubble prints: the capture's own lines, and from a relay the same
// bytes (except where the replay's flow model drops an empty TCP flags object).
TEST_F(ObserveParity, JsonIsWhatHubblePrinted) {
  Result cap = Run("observe --capture " + after_ + " -o json");
  ASSERT_EQ(cap.status, 0) << cap.err;
  EXPECT_EQ(cap.out, Slurp(after_));

  std::string addr = StartReplay({});
  ASSERT_FALSE(addr.empty());
  Result rel = Run("observe --relay " + addr + " --all -o jsonpb");
  ASSERT_EQ(rel.status, 0) << rel.err;
  std::vector<std::string> want = Lines(Slurp(after_)), got = Lines(rel.out);
  ASSERT_EQ(got.size(), want.size());
  size_t same = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].find("\"flags\":{}") != std::string::npos) continue;
    EXPECT_EQ(got[i], want[i]) << "line " << i + 1;
    ++same;
  }
  EXPECT_GT(same, 1000u);
}

// A command that never reached the relay gives up after --connect-timeout, even with -f,
// naming the cause and the fix, without gRPC's own log lines.
TEST_F(ObserveParity, FollowToAClosedPortGivesUp) {
  Result r = Run("observe --relay " + ClosedPort() + " -f --connect-timeout 1s");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("connection refused"));
  EXPECT_THAT(r.err, HasSubstr("fix: "));
  ExpectNoGrpcDump(r);
}

TEST_F(ObserveParity, TlsMistakesAreNamedWithTheirFix) {
  if (!replay::testing::OpensslAvailable()) GTEST_SKIP() << "no openssl to make certificates";
  auto pki = replay::testing::MakeTestPki();
  ASSERT_TRUE(pki.has_value());
  std::string addr = StartReplay({"--tls-cert", pki->server_crt, "--tls-key", pki->server_key});
  ASSERT_FALSE(addr.empty());

  Result wrong_ca = Run("observe --relay " + addr + " --tls-ca-cert-files " + pki->other_ca_crt);
  EXPECT_EQ(wrong_ca.status, 2);
  EXPECT_THAT(wrong_ca.err, HasSubstr("not signed by a CA you trust"));
  ExpectNoGrpcDump(wrong_ca);

  Result wrong_name = Run("observe --relay " + addr + " --tls-ca-cert-files " + pki->ca_crt +
                          " --tls-server-name relay.elsewhere.example");
  EXPECT_EQ(wrong_name.status, 2);
  EXPECT_THAT(wrong_name.err, HasSubstr("--tls-server-name"));
  ExpectNoGrpcDump(wrong_name);

  Result plaintext = Run("observe --relay " + addr);
  EXPECT_EQ(plaintext.status, 2);
  EXPECT_THAT(plaintext.err, HasSubstr("add --tls"));
  ExpectNoGrpcDump(plaintext);

  Result right = Run("observe --relay " + addr + " --tls-ca-cert-files " + pki->ca_crt +
                     " --tls-server-name ui.hubble-relay.cilium.io --last 1");
  EXPECT_EQ(right.status, 0) << right.err;
  EXPECT_FALSE(right.out.empty());
  fs::remove_all(pki->dir);
}

TEST_F(ObserveParity, ReplayOnABusyPortNamesThePort) {
  std::string addr = StartReplay({});
  ASSERT_FALSE(addr.empty());
  std::string port = addr.substr(addr.rfind(':') + 1);
  Result r = Run("replay --capture " + after_ + " --listen 127.0.0.1:" + port);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("port " + port + " is already in use"));
  ExpectNoGrpcDump(r);
}

TEST_F(ObserveParity, HubbleFilterFlags) {
  // --not negates the next filter only; -n is either side.
  Result r = Run("observe --capture " + after_ + " -n business --not --verdict FORWARDED");
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = FlowLines(r.out);
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) {
    EXPECT_THAT(l, HasSubstr("business/"));
    EXPECT_THAT(l, Not(HasSubstr(" FORWARDED (")));
  }
  // -A: flows with a Kubernetes endpoint on either side; world-only ones are left out.
  Result all = Run("observe --capture " + after_ + " -A --verdict DROPPED");
  Result drops = Run("observe --capture " + after_ + " --verdict DROPPED");
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_LT(FlowLines(all.out).size(), FlowLines(drops.out).size());
  EXPECT_FALSE(FlowLines(all.out).empty());
  // --tcp-flags, -4, --to-port, --from-identity by name.
  Result syn = Run("observe --capture " + after_ + " --tcp-flags syn -4 --to-port 5432");
  ASSERT_EQ(syn.status, 0) << syn.err;
  ASSERT_FALSE(FlowLines(syn.out).empty());
  for (const auto& l : FlowLines(syn.out)) EXPECT_THAT(l, HasSubstr("SYN"));
  Result world = Run("observe --capture " + after_ + " --from-identity remote-node --last 3");
  ASSERT_EQ(world.status, 0) << world.err;
  for (const auto& l : FlowLines(world.out)) EXPECT_THAT(l, HasSubstr("(remote-node)"));
  // hubble's refusals.
  EXPECT_THAT(Run("observe --capture " + after_ + " --ip 10.0.0.1 --pod x").err,
              HasSubstr("filters --ip and --pod cannot be combined"));
  EXPECT_THAT(Run("observe --capture " + after_ + " --verdict DROPPED --not").err,
              HasSubstr("trailing --not"));
  Result mask = Run("observe --capture " + after_ + " --field-mask time,verdict");
  EXPECT_EQ(mask.status, 2);
  EXPECT_THAT(mask.err,
              HasSubstr("compact output format is not compatible with custom field mask"));
  EXPECT_EQ(Run("observe --capture " + after_ + " -o table -f").status, 2);
  EXPECT_EQ(Run("observe --capture " + after_ + " --last -1").status, 2);
  EXPECT_EQ(Run("observe --capture " + after_ + " --first 0").status, 2);
  EXPECT_EQ(Run("observe --relay 127.0.0.1:1 --connect-timeout 0s").status, 2);
  EXPECT_THAT(Run("observe --capture " + after_ + " --first 2 --last 2").err,
              HasSubstr("cannot set both --first and --last"));
}

}  // namespace
}  // namespace tw
