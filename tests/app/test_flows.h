// Small hand-built flows and capture files for the app tests.
//
//   tw::flow::SymbolTable s;
//   Event ev = tw::app::testing::FlowEvent(s, {.src_ns = "business", .src_app = "odoo",
//                                              .dst_ns = "business", .dst_app = "postgres",
//                                              .port = 5432});
//   std::string path = tw::app::testing::WriteCapture(dir / "c.jsonl", {ev, ...});
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flow/flow.h"
#include "flow/json.h"
#include "gtest/gtest.h"

namespace tw::app::testing {

struct FlowSpec {
  std::string src_ns = "business";
  std::string src_app = "odoo";
  std::string dst_ns = "business";
  std::string dst_app = "postgres";
  uint16_t port = 5432;
  uint16_t src_port = 40000;
  flow::Verdict verdict = flow::Verdict::kForwarded;
  uint32_t drop_reason = 0;
  int32_t event_type = flow::kEventTrace;
  std::string node = "worker-1";
  int64_t unix_seconds = 1764300000;
  std::string uuid = {};
  bool world_destination = false;  // destination is reserved:world (dst_ns/app ignored)
};

inline flow::Endpoint Ep(flow::SymbolTable& s, const std::string& ns, const std::string& app) {
  flow::Endpoint e;
  e.namespace_ = s.Intern(ns);
  e.pod_name = s.Intern(app + "-5d8f7c9b6-abcde");
  e.labels = {s.Intern("k8s:app=" + app), s.Intern("k8s:app.kubernetes.io/name=" + app),
              s.Intern("k8s:io.kubernetes.pod.namespace=" + ns)};
  e.identity = 10000 + static_cast<uint32_t>(app.size());
  e.reserved = flow::ComputeReserved(e);
  return e;
}

inline flow::Event FlowEvent(flow::SymbolTable& s, const FlowSpec& spec) {
  flow::Flow f;
  f.time = absl::FromUnixSeconds(spec.unix_seconds);
  f.uuid = spec.uuid;
  f.verdict = spec.verdict;
  f.drop_reason_desc = spec.drop_reason;
  f.ip_version = flow::IpVersion::kIPv4;
  f.source_ip = "10.0.1.10";
  f.destination_ip = spec.world_destination ? "203.0.113.9" : "10.0.2.20";
  f.l4.protocol = flow::Protocol::kTCP;
  f.l4.source_port = spec.src_port;
  f.l4.destination_port = spec.port;
  f.l4.tcp_flags = flow::kSYN;
  f.source = Ep(s, spec.src_ns, spec.src_app);
  if (spec.world_destination) {
    f.destination.identity = 2;
    f.destination.labels = {s.Intern("reserved:world")};
    f.destination.reserved = flow::ComputeReserved(f.destination);
  } else {
    f.destination = Ep(s, spec.dst_ns, spec.dst_app);
  }
  f.type = flow::FlowType::kL3L4;
  f.node_name = s.Intern(spec.node);
  f.event_type = spec.event_type;
  f.traffic_direction = flow::TrafficDirection::kEgress;
  f.is_reply = spec.verdict == flow::Verdict::kDropped ? std::nullopt : std::optional<bool>(false);
  flow::Event ev;
  ev.flow = std::move(f);
  ev.node_name = s.Intern(spec.node);
  ev.time = absl::FromUnixSeconds(spec.unix_seconds);
  return ev;
}

inline flow::Event LostEvent(uint64_t n) {
  flow::Event ev;
  ev.lost = flow::LostEvent{flow::LostEventSource::kPerfEventRingBuffer, n, 1};
  return ev;
}

inline std::string WriteCapture(const std::filesystem::path& path,
                                const std::vector<flow::Event>& events) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path);
  for (const auto& ev : events) out << flow::EventToJson(ev) << "\n";
  return path.string();
}

inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        std::filesystem::temp_directory_path() /
        absl::StrCat("tw_app_test_", ::getpid(), "_", info->test_suite_name(), "_", info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace tw::app::testing
