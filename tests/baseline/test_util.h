// Helpers for the baseline tests: keys, flows and synthetic baselines.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "baseline/baseline.h"
#include "flow/connection.h"

namespace tw::baseline::testutil {

inline const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);

inline flow::ConnectionKey Key(flow::SymbolTable& s, absl::string_view src_ns,
                               absl::string_view src, absl::string_view dst_ns,
                               absl::string_view dst, uint16_t port,
                               flow::Protocol proto = flow::Protocol::kTCP) {
  flow::ConnectionKey k;
  k.source = flow::Peer::Workload(s.Intern(src_ns), s.Intern(src));
  k.destination = flow::Peer::Workload(s.Intern(dst_ns), s.Intern(dst));
  k.protocol = proto;
  k.port = port;
  return k;
}

// A deterministic baseline of `n` connections of every peer kind, over a few nodes.
inline Baseline Synthetic(flow::SymbolTable& s, size_t n, uint64_t seed = 1) {
  Baseline b(s);
  b.set_source(absl::StrCat("synthetic:", n, ":", seed));
  std::mt19937_64 rng(seed);
  flow::Symbol nodes[] = {s.Intern("node-a"), s.Intern("node-b"), s.Intern("node-c")};
  for (size_t i = 0; i < n; ++i) {
    flow::ConnectionKey k;
    k.source = flow::Peer::Workload(s.Intern(absl::StrCat("ns", i % 97)),
                                    s.Intern(absl::StrCat("app", i % 1009)));
    switch (i % 4) {
      case 0:
        k.destination = flow::Peer::Workload(s.Intern(absl::StrCat("ns", (i / 7) % 89)),
                                             s.Intern(absl::StrCat("svc", i)));
        break;
      case 1:
        k.destination = flow::Peer::Entity(s.Intern(i % 8 == 1 ? "kube-apiserver" : "world"));
        break;
      case 2:
        k.destination = flow::Peer::Fqdn(s.Intern(absl::StrCat("host", i, ".example.com")));
        break;
      default:
        k.destination =
            flow::Peer::Ip(s.Intern(absl::StrCat("198.51.", (i >> 8) & 0xff, ".", i & 0xff)));
        break;
    }
    k.protocol = i % 5 == 0 ? flow::Protocol::kUDP : flow::Protocol::kTCP;
    k.port = static_cast<uint16_t>(1 + i % 30000);
    absl::Time t = kT0 + absl::Milliseconds(static_cast<int64_t>(rng() % 1'000'000));
    b.Record(k, t, nodes[rng() % 3], flow::Verdict::kForwarded);
    if (i % 5 == 0) {  // some workloads with labels, as learning keeps them
      std::string app(k.source.name.view()), ns(k.source.namespace_.view());
      b.SetLabels(k.source,
                  {s.Intern("k8s:app=" + app), s.Intern("k8s:io.kubernetes.pod.namespace=" + ns),
                   s.Intern("k8s:io.cilium.k8s.policy.serviceaccount=" + app)});
    }
    if (i % 3 == 0) {
      b.Record(k, t + absl::Seconds(5), nodes[rng() % 3],
               i % 6 == 0 ? flow::Verdict::kAudit : flow::Verdict::kForwarded);
    }
  }
  return b;
}

inline std::string TempDir(const std::string& name) {
  std::filesystem::path p =
      std::filesystem::temp_directory_path() / absl::StrCat("tw-baseline-", name, "-", ::getpid());
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace tw::baseline::testutil
