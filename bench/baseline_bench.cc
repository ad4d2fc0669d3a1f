// Baseline benchmarks: memory per connection at one million connections, learn throughput
// (flows/s through Learner::Observe on one core), and snapshot encode/decode speed.
//
//   build/release/bench/baseline_bench
//   build/release/bench/baseline_bench --benchmark_filter=Memory
//
// Figures go to docs/baseline.md; tests never assert speed.
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "baseline/baseline.h"
#include "baseline/persist.h"
#include "bench_scale.h"
#include "benchmark/benchmark.h"
#include "flow/connection.h"

namespace tw::baseline {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);

// Bytes in use from malloc: small blocks (uordblks) plus the large ones glibc serves with
// mmap (hblkhd) — the connection array and hash index are of those.
size_t HeapInUse() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Names for a cluster of 100 namespaces and 5,000 workloads, interned up front so that the
// memory measured is the baseline's own.
struct Names {
  explicit Names(flow::SymbolTable& s) {
    for (int i = 0; i < 100; ++i) namespaces.push_back(s.Intern(absl::StrCat("team-", i)));
    for (int i = 0; i < 5000; ++i) workloads.push_back(s.Intern(absl::StrCat("app-", i)));
    for (int i = 0; i < 200; ++i) {
      services.push_back(s.Intern(absl::StrCat("svc-", i)));
      fqdns.push_back(s.Intern(absl::StrCat("api", i, ".example.com")));
      ips.push_back(s.Intern(absl::StrCat("203.0.113.", i)));
    }
    for (int i = 0; i < 6; ++i) nodes.push_back(s.Intern(absl::StrCat("worker-", i)));
    // Each workload's pods as Hubble shows them: identity labels (app, instance, version,
    // service account, namespace and its labels, cluster) plus a per-revision hash the
    // baseline drops.
    auto pod = [&s](flow::Symbol ns, flow::Symbol name, uint32_t identity) {
      flow::Endpoint ep;
      ep.identity = identity;
      ep.namespace_ = ns;
      std::string n(name.view()), nsn(ns.view());
      for (const std::string& l : std::vector<std::string>{
               "k8s:app.kubernetes.io/name=" + n, "k8s:app.kubernetes.io/instance=" + n + "-prod",
               "k8s:app.kubernetes.io/version=1.4.2",
               "k8s:io.cilium.k8s.policy.serviceaccount=" + n,
               "k8s:io.kubernetes.pod.namespace=" + nsn,
               "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + nsn,
               "k8s:io.cilium.k8s.namespace.labels.team=" + nsn,
               "k8s:io.cilium.k8s.policy.cluster=prod", "k8s:pod-template-hash=5d8f9c7b6"}) {
        ep.labels.push_back(s.Intern(l));
      }
      return ep;
    };
    for (int i = 0; i < 5000; ++i) {
      client_pods.push_back(pod(namespaces[i % 100], workloads[i], 1000 + i));
    }
    for (int i = 0; i < 200; ++i) {
      server_pods.push_back(pod(namespaces[i % 100], services[i], 10000 + i));
    }
  }
  std::vector<flow::Symbol> namespaces, workloads, services, fqdns, ips, nodes;
  std::vector<flow::Endpoint> client_pods, server_pods;
};

// Connection i of n: 5,000 clients x 200 destinations (workloads, FQDNs, IPs), each
// destination serving one port, as services do.
flow::ConnectionKey SyntheticKey(const Names& n, size_t i) {
  size_t src = i % 5000, dst = (i / 5000) % 200;
  flow::ConnectionKey k;
  k.source = flow::Peer::Workload(n.namespaces[src % 100], n.workloads[src]);
  if (dst < 150) {
    k.destination = flow::Peer::Workload(n.namespaces[dst % 100], n.services[dst]);
  } else if (dst < 180) {
    k.destination = flow::Peer::Fqdn(n.fqdns[dst]);
  } else {
    k.destination = flow::Peer::Ip(n.ips[dst]);
  }
  k.protocol = dst % 7 == 0 ? flow::Protocol::kUDP : flow::Protocol::kTCP;
  k.port = static_cast<uint16_t>(1000 + dst * 13);
  return k;
}

void BM_MemoryPerConnection(benchmark::State& state) {
  const size_t n = tw::bench::Scaled(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    flow::SymbolTable symbols;
    Names names(symbols);
    size_t before = HeapInUse();
    state.ResumeTiming();
    auto b = std::make_unique<Baseline>(symbols);
    for (size_t i = 0; i < n; ++i) {
      // Each connection seen twice, on two nodes: realistic node sets.
      flow::ConnectionKey k = SyntheticKey(names, i);
      b->Record(k, kT0 + absl::Seconds(i % 3600), names.nodes[i % 6], flow::Verdict::kForwarded);
      b->Record(k, kT0 + absl::Seconds(i % 7200), names.nodes[(i + 1) % 6],
                flow::Verdict::kForwarded);
      // Labels are kept per workload: every flow shows them, the baseline stores them once.
      b->ObserveLabels(k.source, names.client_pods[i % 5000]);
      if (k.destination.is_workload()) {
        b->ObserveLabels(k.destination, names.server_pods[(i / 5000) % 200]);
      }
    }
    state.PauseTiming();
    size_t after = HeapInUse();
    state.counters["connections"] = static_cast<double>(b->size());
    state.counters["bytes_per_connection"] =
        static_cast<double>(after - before) / static_cast<double>(b->size());
    state.counters["node_sets"] = static_cast<double>(b->node_set_count());
    state.counters["labelled_workloads"] = static_cast<double>(b->labelled_workloads());
    state.counters["server_ports"] = static_cast<double>(b->server_ports().size());
    std::string snapshot = EncodeSnapshot(*b);
    state.counters["snapshot_bytes_per_connection"] =
        static_cast<double>(snapshot.size()) / static_cast<double>(b->size());
    b.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n) * 2);
}
BENCHMARK(BM_MemoryPerConnection)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Learn throughput: flows of 10,000 connections (SYN, reply, ACK, DNS answer mix) through
// Learner::Observe, the daemon's per-flow learning cost.
void BM_LearnThroughput(benchmark::State& state) {
  flow::SymbolTable symbols;
  std::vector<flow::Flow> flows;
  flows.reserve(40'000);
  for (int i = 0; i < 10'000; ++i) {
    flow::Flow f;
    f.time = kT0 + absl::Milliseconds(i);
    f.verdict = flow::Verdict::kForwarded;
    f.node_name = symbols.Intern(absl::StrCat("worker-", i % 6));
    f.source.identity = 30000 + i % 300;
    f.source.namespace_ = symbols.Intern(absl::StrCat("team-", i % 50));
    f.source.labels = {symbols.Intern(absl::StrCat("k8s:app.kubernetes.io/name=app-", i % 300)),
                       symbols.Intern("k8s:pod-template-hash=5d8f9c7b6")};
    f.destination.identity = 40000 + i % 97;
    f.destination.namespace_ = symbols.Intern(absl::StrCat("team-", i % 37));
    f.destination.workloads = {
        {symbols.Intern(absl::StrCat("svc-", i % 97)), symbols.Intern("Deployment")}};
    f.source_ip = "10.0.0.1";
    f.destination_ip = "10.0.0.2";
    f.l4.protocol = flow::Protocol::kTCP;
    f.l4.source_port = static_cast<uint16_t>(33000 + i % 20000);
    f.l4.destination_port = static_cast<uint16_t>(8000 + i % 33);
    f.l4.tcp_flags = flow::kSYN;
    flows.push_back(f);
    flow::Flow reply = f;
    std::swap(reply.source, reply.destination);
    std::swap(reply.l4.source_port, reply.l4.destination_port);
    reply.l4.tcp_flags = flow::kSYN | flow::kACK;
    flows.push_back(reply);
    flow::Flow ack = f;
    ack.l4.tcp_flags = flow::kACK | flow::kPSH;
    flows.push_back(ack);
    if (i % 4 == 0) {
      flow::Flow world = f;
      world.destination = flow::Endpoint{};
      world.destination.identity = 2;
      world.destination.labels = {symbols.Intern("reserved:world")};
      world.destination.reserved = flow::ComputeReserved(world.destination);
      world.destination_ip = absl::StrCat("198.51.100.", i % 250);
      world.destination_names = {symbols.Intern(absl::StrCat("api", i % 40, ".example.com."))};
      world.l4.destination_port = 443;
      flows.push_back(world);
    }
  }
  for (flow::Flow& f : flows) {
    f.source.reserved = flow::ComputeReserved(f.source);
    f.destination.reserved = flow::ComputeReserved(f.destination);
  }
  Baseline b(symbols);
  flow::DnsNameCache dns(symbols);
  Learner learner(b, &dns);
  for (auto _ : state) {
    for (const flow::Flow& f : flows) benchmark::DoNotOptimize(learner.Observe(f));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(flows.size()));
  state.counters["connections"] = static_cast<double>(b.size());
}
BENCHMARK(BM_LearnThroughput)->Unit(benchmark::kMillisecond);

void BM_SnapshotEncodeDecode(benchmark::State& state) {
  flow::SymbolTable symbols;
  Names names(symbols);
  Baseline b(symbols);
  const size_t n = tw::bench::Scaled(1'000'000);
  for (size_t i = 0; i < n; ++i) {
    b.Record(SyntheticKey(names, i), kT0, names.nodes[i % 6], flow::Verdict::kForwarded);
  }
  size_t bytes = 0;
  double encode_ms = 0, decode_ms = 0;
  for (auto _ : state) {
    absl::Time t0 = absl::Now();
    std::string s = EncodeSnapshot(b);
    absl::Time t1 = absl::Now();
    bytes = s.size();
    auto back = DecodeSnapshot(s, "bench", symbols);
    absl::Time t2 = absl::Now();
    if (!back.ok() || back->size() != b.size()) state.SkipWithError("round trip failed");
    encode_ms = absl::ToDoubleMilliseconds(t1 - t0);  // the last iteration's
    decode_ms = absl::ToDoubleMilliseconds(t2 - t1);
  }
  state.counters["snapshot_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["encode_ms"] = encode_ms;
  state.counters["decode_ms"] = decode_ms;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_SnapshotEncodeDecode)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
}  // namespace tw::baseline

BENCHMARK_MAIN();
