// Shared pieces of the fault tests: a scratch directory per test, synthetic captures, the
// fault counts (small in `make test`, large in `make soak`, which sets TIERWATCH_SOAK=1).
//
//   int kills = tw::faults::Count(/*test=*/200, /*soak=*/1000);
//   fs::path cap = tw::faults::WriteCapture(dir / "c.jsonl", 5000, "c");
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flow/flow.h"
#include "flow/json.h"
#include "gtest/gtest.h"

namespace tw::faults {

namespace fs = std::filesystem;

inline bool Soak() {
  const char* v = std::getenv("TIERWATCH_SOAK");
  return v != nullptr && std::string(v) == "1";
}
inline int Count(int test, int soak) { return Soak() ? soak : test; }

inline fs::path ScratchDir(const std::string& what) {
  fs::path dir = fs::temp_directory_path() /
                 absl::StrCat("tw_fault_", what, "_", getpid(), "_",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// `n` distinct connections (business/app-<tag><i> -> business/db:<port>), one forwarded
// SYN each, uuids "<tag>-<i>".
inline fs::path WriteCapture(const fs::path& path, int n, const std::string& tag,
                             int64_t start = 1764300000) {
  flow::SymbolTable s;
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    flow::Event ev;
    flow::Flow& f = ev.flow.emplace();
    f.time = absl::FromUnixSeconds(start) + absl::Milliseconds(i);
    f.uuid = absl::StrCat(tag, "-", i);
    f.verdict = flow::Verdict::kForwarded;
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = 40000 + (i % 20000);
    f.l4.destination_port = 5000 + (i % 50);
    f.l4.tcp_flags = flow::kSYN;
    f.source_ip = "10.0.1.1";
    f.destination_ip = "10.0.2.2";
    f.ip_version = flow::IpVersion::kIPv4;
    f.source.namespace_ = s.Intern(absl::StrCat("ns-", i % 97));
    f.source.labels = {s.Intern(absl::StrCat("k8s:app=app-", tag, i))};
    f.destination.namespace_ = s.Intern("business");
    f.destination.labels = {s.Intern("k8s:app=db")};
    f.type = flow::FlowType::kL3L4;
    f.event_type = flow::kEventTrace;
    f.is_reply = false;
    f.node_name = s.Intern("worker-1");
    ev.node_name = f.node_name;
    ev.time = f.time;
    out << flow::EventToJson(ev) << "\n";
  }
  return path;
}

// Resident set size of this process, in MiB (from /proc/self/statm).
inline double RssMiB() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

// RSS bounds mean something only without a sanitizer: ASan keeps freed memory in its
// quarantine (256 MB by default) and TSan adds shadow memory, so there the figures are
// printed but not asserted.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kRssBoundsHold = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kRssBoundsHold = false;
#else
inline constexpr bool kRssBoundsHold = true;
#endif
#else
inline constexpr bool kRssBoundsHold = true;
#endif

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

}  // namespace tw::faults
