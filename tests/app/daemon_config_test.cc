// Relay filters in the daemon config map onto Hubble's flow.FlowFilter, and their errors
// join the config's other errors in one status, each with its line.
#include "app/daemon_config.h"

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
  EXPECT_THAT(msg, HasSubstr("bad.yaml:3: relay.keepalive: invalid"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:6: relay.filters.whitelist[0].verdikt: unknown "
                             "FlowFilter field"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:7: relay.filters.whitelist[1].verdict[0]: unknown "
                             "Verdict \"DROPED\"; expected one of"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:8: relay.filters.whitelist[2]:"));
  EXPECT_THAT(msg, HasSubstr("10.0.0.0/33"));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:9: relay.filters.whitelist[3].event_type[0].type: "
                             "expected a whole number, got \"five\""));
  EXPECT_THAT(msg, HasSubstr("bad.yaml:11: relay.filters.blacklist[0].tcp_flags[0].SYN: "
                             "expected true or false"));
  // One line per error, in file order.
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 5) << msg;
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
  EXPECT_EQ(cfg->config.relay.address, "hubble-relay.kube-system.svc.cluster.local:80");
  EXPECT_EQ(cfg->config.baseline.path, "/var/lib/tierwatch/baseline.twb");
}

}  // namespace
}  // namespace tw::app
