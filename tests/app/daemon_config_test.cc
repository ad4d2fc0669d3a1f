// Relay filters in the daemon config map onto Hubble's flow.FlowFilter, and their errors
// join the config's other errors in one status, each with its line.
#include "app/daemon_config.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/paths.h"

namespace tw::app {
namespace {

using ::testing::HasSubstr;

TEST(DaemonConfigTest, FiltersBecomeFlowFilterProtos) {
  auto cfg = ParseDaemonConfig(
      "relay:\n"
      "  address: 127.0.0.1:4245\n"
      "  filters:\n"
      "    whitelist:\n"
      "      - verdict: [DROPPED, audit]\n"
      "        event_type: [{type: 5}, {type: 1, match_sub_type: true, sub_type: 133}]\n"
      "      - source_pod: business/\n"        // a single value = a list of one
      "        destinationPort: [\"5432\"]\n"  // lowerCamel accepted
      "        tcp_flags: [{SYN: true}]\n"
      "        reply: [false]\n"
      "    blacklist:\n"
      "      - destination_label: [\"k8s:app=noisy\"]\n"
      "        source_identity: [2]\n"
      "mode: watch\n",
      "f.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->filters.whitelist.size(), 2u);
  const ::flow::FlowFilter& a = cfg->filters.whitelist[0];
  ASSERT_EQ(a.verdict_size(), 2);
  EXPECT_EQ(a.verdict(0), ::flow::DROPPED);
  EXPECT_EQ(a.verdict(1), ::flow::AUDIT);
  ASSERT_EQ(a.event_type_size(), 2);
  EXPECT_EQ(a.event_type(0).type(), 5);
  EXPECT_TRUE(a.event_type(1).match_sub_type());
  EXPECT_EQ(a.event_type(1).sub_type(), 133);
  const ::flow::FlowFilter& b = cfg->filters.whitelist[1];
  ASSERT_EQ(b.source_pod_size(), 1);
  EXPECT_EQ(b.source_pod(0), "business/");
  ASSERT_EQ(b.destination_port_size(), 1);
  EXPECT_EQ(b.destination_port(0), "5432");
  ASSERT_EQ(b.tcp_flags_size(), 1);
  EXPECT_TRUE(b.tcp_flags(0).syn());
  ASSERT_EQ(b.reply_size(), 1);
  EXPECT_FALSE(b.reply(0));
  ASSERT_EQ(cfg->filters.blacklist.size(), 1u);
  EXPECT_EQ(cfg->filters.blacklist[0].destination_label(0), "k8s:app=noisy");
  EXPECT_EQ(cfg->filters.blacklist[0].source_identity(0), 2u);
}

TEST(DaemonConfigTest, FilterErrorsJoinTheOtherErrorsWithLines) {
  auto cfg = ParseDaemonConfig(
      "relay:\n"                                // 1
      "  address: 127.0.0.1:4245\n"             // 2
      "  keepalive: soon\n"                     // 3 config error
      "  filters:\n"                            // 4
      "    whitelist:\n"                        // 5
      "      - verdikt: [DROPPED]\n"            // 6 unknown field
      "      - verdict: [DROPED]\n"             // 7 unknown enum value
      "      - source_ip: [\"10.0.0.0/33\"]\n"  // 8 bad CIDR (compile check)
      "      - event_type: [{type: five}]\n"    // 9 not a number
      "    blacklist:\n"                        // 10
      "      - tcp_flags: [{SYN: maybe}]\n"     // 11 not a bool
      "mode: watch\n",
      "bad.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg(cfg.status().message());
  EXPECT_THAT(msg, HasSubstr("bad.yaml:3:14: error: relay.keepalive: expected a duration"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:6: error: relay.filters.whitelist[0]: unknown "
                             "FlowFilter field \"verdikt\" (did you mean \"verdict\"?)"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:7: error: relay.filters.whitelist[1].verdict[0]: expected "
                             "one of VERDICT_UNKNOWN, FORWARDED"));
  EXPECT_THAT(msg, HasSubstr("got \"DROPED\" (did you mean \"DROPPED\"?)"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:8: error: relay.filters.whitelist[2]:"));
  EXPECT_THAT(msg, HasSubstr("10.0.0.0/33"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:9: error: relay.filters.whitelist[3].event_type[0].type: "
                             "expected an integer from -2147483648 to 2147483647, got \"five\""));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:11: error: relay.filters.blacklist[0].tcp_flags[0].SYN: "
                             "expected true or false"));
  // One line per error, in file order.
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 5) << msg;
}

TEST(DaemonConfigTest, HttpListenAndTheNamespaceCap) {
  auto cfg = ParseDaemonConfig("relay: {address: r:80}\nmode: watch\n", "f.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->config.http.listen, ":9977");  // the default: every interface
  EXPECT_EQ(cfg->config.metrics.max_namespaces, 200);

  for (const char* ok :
       {"\":9977\"", "0.0.0.0:9977", "\"[::]:9977\"", "127.0.0.1:0", "localhost:9000", "\"\""}) {
    auto c =
        ParseDaemonConfig(absl::StrCat("relay: {address: r:80}\nmode: watch\nhttp: {listen: ", ok,
                                       "}\nmetrics: {max_namespaces: 50}\n"),
                          "f.yaml");
    ASSERT_TRUE(c.ok()) << ok << ": " << c.status();
    EXPECT_EQ(c->config.metrics.max_namespaces, 50);
  }
  auto bad = ParseDaemonConfig(
      "relay: {address: r:80}\nmode: watch\nhttp:\n  listen: 9977\n  port: 1\n"
      "metrics: {max_namespaces: 0}\n",
      "f.yaml");
  ASSERT_FALSE(bad.ok());
  std::string msg(bad.status().message());
  EXPECT_THAT(msg,
              HasSubstr("f.yaml:4:11: error: http.listen: expected HOST:PORT such as \":9977\""));
  EXPECT_THAT(msg, HasSubstr("f.yaml:5:3: error: http: unknown key \"port\""));
  EXPECT_THAT(msg,
              HasSubstr("f.yaml:6:27: error: metrics.max_namespaces: expected an integer from 1 to "
                        "100000, got \"0\""));
  for (const char* wrong : {"\"host:port\"", "\"::1:9977\"", "\":70000\"", "\"[::1:9977\""}) {
    auto c = ParseDaemonConfig(
        absl::StrCat("relay: {address: r:80}\nmode: watch\nhttp: {listen: ", wrong, "}\n"),
        "f.yaml");
    EXPECT_FALSE(c.ok()) << wrong;
  }
}

TEST(DaemonConfigTest, DocumentedExampleLoads) {
  auto cfg = LoadDaemonConfig(tw::testing::SourceDir() + "/config/tierwatch.example.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->filters.whitelist.empty());
  EXPECT_TRUE(cfg->filters.blacklist.empty());
}

TEST(DaemonConfigTest, DeployedConfigMapLoads) {
  // deploy/tierwatch/tierwatch.yaml is what the ConfigMap carries.
  auto cfg = LoadDaemonConfig(tw::testing::SourceDir() + "/deploy/tierwatch/tierwatch.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  // The story's cluster runs Cilium in the `cilium` namespace.
  EXPECT_EQ(cfg->config.relay.address, "hubble-relay.cilium.svc:80");
  EXPECT_EQ(cfg->config.baseline.path, "/var/lib/tierwatch/baseline.twb");
}

}  // namespace
}  // namespace tw::app

namespace tw::app {
namespace {

TEST(DaemonConfigTest, RelayClientOptionsFollowTheConfig) {
  auto cfg = ParseDaemonConfig(
      "relay:\n"
      "  address: relay.example:443\n"
      "  backlog: 10m\n"
      "  tls: {enabled: true, ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem,"
      " server_name: instance.hubble-relay.cilium.io}\n"
      "  keepalive: 45s\n"
      "  resume_window: 3s\n"
      "  backoff: {initial: 1s, max: 1m}\n"
      "  filters: {whitelist: [{verdict: [DROPPED]}], blacklist: [{source_pod: [kube-system/]}]}\n"
      "mode: watch\n",
      "r.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  const absl::Time now = absl::FromUnixSeconds(1764300000);
  sources::RelayClientOptions o = RelayClientOptionsFor(*cfg, now, std::nullopt, 7);
  EXPECT_EQ(o.address, "relay.example:443");
  EXPECT_TRUE(o.follow);
  EXPECT_EQ(o.since, now - absl::Minutes(10));
  EXPECT_TRUE(o.tls.enabled);
  EXPECT_EQ(o.tls.ca_files, std::vector<std::string>{"/ca.pem"});
  EXPECT_EQ(o.tls.cert_file, "/c.pem");
  EXPECT_EQ(o.tls.key_file, "/k.pem");
  EXPECT_EQ(o.tls.server_name, "instance.hubble-relay.cilium.io");
  EXPECT_EQ(o.keepalive_time, absl::Seconds(45));
  EXPECT_EQ(o.resume_window, absl::Seconds(3));
  EXPECT_EQ(o.backoff.initial, absl::Seconds(1));
  EXPECT_EQ(o.backoff.max, absl::Minutes(1));
  EXPECT_EQ(o.seed, 7u);
  ASSERT_EQ(o.whitelist.size(), 1u);
  EXPECT_EQ(o.whitelist[0].verdict(0), ::flow::DROPPED);
  ASSERT_EQ(o.blacklist.size(), 1u);
  EXPECT_EQ(o.blacklist[0].source_pod(0), "kube-system/");

  // A reconnect after a reload resumes where the stream was, whatever the backlog says.
  EXPECT_EQ(RelayClientOptionsFor(*cfg, now, now - absl::Seconds(5), 0).since,
            now - absl::Seconds(5));

  auto plain = ParseDaemonConfig("relay: {address: a:1}\nmode: watch\n", "p.yaml");
  ASSERT_TRUE(plain.ok());
  sources::RelayClientOptions p = RelayClientOptionsFor(*plain, now, std::nullopt, 0);
  EXPECT_FALSE(p.since.has_value());  // backlog none: new flows only
  EXPECT_FALSE(p.tls.enabled);
  EXPECT_TRUE(p.tls.ca_files.empty());
  auto all = ParseDaemonConfig("relay: {address: a:1, backlog: all}\nmode: watch\n", "a.yaml");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(RelayClientOptionsFor(*all, now, std::nullopt, 0).since, absl::UnixEpoch());
}

}  // namespace
}  // namespace tw::app
