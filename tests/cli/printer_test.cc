// The observe printer: hubble's compact, dict and table layouts and words, time formats,
// node status and lost events, and escaping of terminal control characters from flows.
#include "cli/printer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "absl/time/civil_time.h"

namespace tw::cli {
namespace {

class PrinterTest : public ::testing::Test {
 protected:
  flow::Flow Drop() {
    flow::Flow f;
    f.time = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 9, 21, 0), absl::UTCTimeZone()) +
             absl::Milliseconds(351);
    f.verdict = flow::Verdict::kDropped;
    f.event_type = flow::kEventDrop;
    f.event_sub_type = 133;
    f.drop_reason_desc = 133;
    f.source_ip = "10.244.1.5";
    f.destination_ip = "10.244.2.7";
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = 40512;
    f.l4.destination_port = 5432;
    f.l4.tcp_flags = flow::kSYN;
    f.source.identity = 48211;
    f.source.namespace_ = s_.Intern("business");
    f.source.pod_name = s_.Intern("odoo-7d9f8-x2x9z");
    f.destination.identity = 2;
    f.destination_names = {s_.Intern("api.github.com")};
    f.node_name = s_.Intern("prod/worker-1");
    return f;
  }
  // Runs a printer over `evs` into memory: {stdout, stderr}.
  std::pair<std::string, std::string> Print(const std::vector<flow::Event>& evs, PrintOptions o,
                                            absl::string_view json = {}) {
    char *out_buf = nullptr, *err_buf = nullptr;
    size_t out_len = 0, err_len = 0;
    std::FILE* out = open_memstream(&out_buf, &out_len);
    std::FILE* err = open_memstream(&err_buf, &err_len);
    {
      EventPrinter p(out, err, o);
      for (const auto& e : evs) p.Print(e, json);
      p.Flush();
    }
    std::fclose(out);
    std::fclose(err);
    std::pair<std::string, std::string> r{std::string(out_buf, out_len),
                                          std::string(err_buf, err_len)};
    free(out_buf);
    free(err_buf);
    return r;
  }
  flow::Event Ev(flow::Flow f) {
    flow::Event e;
    e.flow = std::move(f);
    return e;
  }
  flow::SymbolTable s_;
};

TEST_F(PrinterTest, CompactInHubblesWords) {
  PrintOptions o;
  EXPECT_EQ(FormatCompactFlow(Drop(), o),
            "Nov 20 09:21:00.351: business/odoo-7d9f8-x2x9z:40512 (ID:48211) <> "
            "api.github.com:5432 (world) Policy denied DROPPED (TCP Flags: SYN)");
  flow::Flow pv = Drop();
  pv.event_type = flow::kEventPolicyVerdict;
  pv.traffic_direction = flow::TrafficDirection::kEgress;
  pv.is_reply = false;
  EXPECT_NE(FormatCompactFlow(pv, o).find("-> api.github.com:5432 (world) policy-verdict:none "
                                          "EGRESS DENIED"),
            std::string::npos);
  pv.verdict = flow::Verdict::kForwarded;
  EXPECT_NE(FormatCompactFlow(pv, o).find("EGRESS ALLOWED"), std::string::npos);
  flow::Flow denylist = Drop();
  denylist.event_sub_type = 181;
  EXPECT_NE(FormatCompactFlow(denylist, o).find("Policy denied by denylist DROPPED"),
            std::string::npos);
  flow::Flow reply = Drop();
  reply.is_reply = true;
  EXPECT_NE(FormatCompactFlow(reply, o).find("api.github.com:5432 (world) <- "
                                             "business/odoo-7d9f8-x2x9z:40512 (ID:48211)"),
            std::string::npos);
  // Node name only when asked, numeric without names.
  EXPECT_EQ(FormatCompactFlow(Drop(), o).find("prod/worker-1"), std::string::npos);
  o.node_name = true;
  EXPECT_NE(FormatCompactFlow(Drop(), o).find(".351 [prod/worker-1]: "), std::string::npos);
  o.numeric = true;
  EXPECT_NE(FormatCompactFlow(Drop(), o).find(": 10.244.1.5:40512 (ID:48211) <> 10.244.2.7:5432"),
            std::string::npos);
  flow::Flow dns = Drop();
  dns.event_type = flow::kEventL7;
  dns.l7.emplace();
  dns.l7->type = flow::L7Type::kRequest;
  dns.l7->dns.emplace();
  dns.l7->dns->observation_source = "proxy";
  EXPECT_NE(FormatCompactFlow(dns, PrintOptions()).find(" dns-request proxy DROPPED"),
            std::string::npos);
}

// Flow fields are attacker-controlled text: ESC, CR, other controls and C1 never reach the
// terminal raw, in any text format.
TEST_F(PrinterTest, ControlCharactersFromFlowsAreEscaped) {
  flow::Flow f = Drop();
  f.source.pod_name = s_.Intern("evil\x1b[2J\x1b]0;pwned\x07-pod");
  f.summary =
      "GET /x\r\nFAKE LINE \xc2\x9b"
      "31m";
  f.node_name = s_.Intern("node\x1b[1m");
  PrintOptions o;
  o.node_name = true;
  for (OutputFormat fmt : {OutputFormat::kCompact, OutputFormat::kDict, OutputFormat::kTable}) {
    o.format = fmt;
    std::string out = Print({Ev(f)}, o).first;
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
    EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << out;
    EXPECT_NE(out.find("evil^[[2J^[]0;pwned\\x07-pod"), std::string::npos) << out;
    EXPECT_NE(out.find("GET /x\\r\\nFAKE LINE \\u009b31m"), std::string::npos) << out;
  }
  EXPECT_EQ(EscapeTerminal("a\tb\nc\x1b", /*keep_newlines_and_tabs=*/true), "a\tb\nc^[");
  // Colours are ours and stay.
  o.format = OutputFormat::kCompact;
  o.color = true;
  std::string colored = Print({Ev(Drop())}, o).first;
  EXPECT_NE(colored.find("\x1b[31mDROPPED\x1b[0m"), std::string::npos) << colored;
}

TEST_F(PrinterTest, DictTableAndTimeFormats) {
  PrintOptions o;
  o.format = OutputFormat::kDict;
  std::string dict = Print({Ev(Drop()), Ev(Drop())}, o).first;
  EXPECT_EQ(dict,
            "  TIMESTAMP: Nov 20 09:21:00.351\n"
            "     SOURCE: business/odoo-7d9f8-x2x9z:40512\n"
            "DESTINATION: api.github.com:5432\n"
            "       TYPE: Policy denied\n"
            "    VERDICT: DROPPED\n"
            "    SUMMARY: TCP Flags: SYN\n"
            "------------\n"
            "  TIMESTAMP: Nov 20 09:21:00.351\n"
            "     SOURCE: business/odoo-7d9f8-x2x9z:40512\n"
            "DESTINATION: api.github.com:5432\n"
            "       TYPE: Policy denied\n"
            "    VERDICT: DROPPED\n"
            "    SUMMARY: TCP Flags: SYN\n");
  o.format = OutputFormat::kTable;
  std::string table = Print({Ev(Drop())}, o).first;
  EXPECT_EQ(table,
            "TIMESTAMP             SOURCE                            DESTINATION           "
            "TYPE            VERDICT   SUMMARY\n"
            "Nov 20 09:21:00.351   business/odoo-7d9f8-x2x9z:40512   api.github.com:5432   "
            "Policy denied   DROPPED   TCP Flags: SYN\n");

  absl::Time t = Drop().time;
  EXPECT_EQ(FormatTime(t, TimeFormat::kRfc3339), "2026-11-20T09:21:00Z");
  EXPECT_EQ(FormatTime(t, TimeFormat::kRfc3339Milli), "2026-11-20T09:21:00.351Z");
  EXPECT_EQ(FormatTime(t, TimeFormat::kRfc3339Nano), "2026-11-20T09:21:00.351Z");
  EXPECT_EQ(FormatTime(t, TimeFormat::kYearMonthDay), "2026-11-20");
  EXPECT_EQ(FormatTime(t, TimeFormat::kRfc1123Z), "Fri, 20 Nov 2026 09:21:00 +0000");
  EXPECT_EQ(FormatTime(absl::UnixEpoch(), TimeFormat::kStampMilli), "N/A");
  EXPECT_TRUE(ParseTimeFormat("rfc3339nano").ok());
  EXPECT_FALSE(ParseTimeFormat("ISO8601").ok());
}

TEST_F(PrinterTest, NodeStatusOnlyErrorsUnlessDebugAndLostEventsOnStdout) {
  flow::Event connected;
  connected.node_status = flow::NodeStatus{flow::NodeState::kConnected, {"n1", "n2"}, ""};
  flow::Event unavailable;
  unavailable.node_status = flow::NodeStatus{flow::NodeState::kUnavailable, {"n3"}, ""};
  flow::Event lost;
  lost.lost = flow::LostEvent{flow::LostEventSource::kPerfEventRingBuffer, 7, 2};
  PrintOptions o;
  auto [out, err] = Print({connected, unavailable, lost}, o);
  EXPECT_EQ(err.find("Receiving flows"), std::string::npos) << err;
  EXPECT_NE(err.find("1 nodes are unavailable: n3"), std::string::npos) << err;
  EXPECT_EQ(out, "EVENTS LOST: PERF_EVENT_RING_BUFFER CPU(2) 7\n");
  o.debug = true;
  EXPECT_NE(Print({connected}, o).second.find("Receiving flows from 2 nodes: n1, n2"),
            std::string::npos);
  // -o json prints the line it is given, node status on stderr.
  o.format = OutputFormat::kJson;
  auto [jout, jerr] = Print({Ev(Drop()), connected}, o, R"({"x":1})");
  EXPECT_EQ(jout, "{\"x\":1}\n");
  EXPECT_EQ(jerr, "{\"x\":1}\n");
  // -o dict: hubble's record, the state as the enum names it.
  o.format = OutputFormat::kDict;
  const std::string dict = Print({unavailable}, o).second;
  EXPECT_NE(dict.find("\n      STATE: NODE_UNAVAILABLE\n      NODES: n3\n    MESSAGE: N/A"),
            std::string::npos)
      << dict;
}

}  // namespace
}  // namespace tw::cli
