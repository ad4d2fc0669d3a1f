// The reference a capture path is measured against: a bare simdjson on-demand loop that
// pulls four fields per line (verdict, source and destination namespace, destination
// port) and counts, nothing else. scripts/bench.sh runs it on the same file as
// `tierwatch analyze`, jq and a small Python script, side by side in one run.
//
//   build/release/bench/raw_capture_bench --file big.jsonl   # prints: flows=N seconds=S
//   build/release/bench/raw_capture_bench                    # Google Benchmark, the example
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "bench_scale.h"
#include "simdjson.h"

namespace {

namespace od = simdjson::ondemand;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Counts flows per (verdict, port) bucket the way a hand-written script would.
struct Counts {
  size_t flows = 0, dropped = 0, other = 0, errors = 0;
  uint64_t port_sum = 0, ns_bytes = 0;
};

void Loop(std::string_view text, Counts* c) {
  od::parser parser;
  od::document_stream stream;
  if (parser.iterate_many(text.data(), text.size(), 1 << 20).get(stream)) {
    ++c->errors;
    return;
  }
  for (auto doc : stream) {
    od::object flow;
    if (auto err = doc["flow"].get_object().get(flow)) {
      // node_status / lost_events lines have no flow: counted, not an error.
      if (err == simdjson::NO_SUCH_FIELD) {
        ++c->other;
      } else {
        ++c->errors;
      }
      continue;
    }
    ++c->flows;
    // operator[] finds fields in any order (on-demand scans forward, then wraps).
    std::string_view verdict, src_ns, dst_ns;
    uint64_t port = 0;
    od::object src, dst, l4;
    if (!flow["verdict"].get_string().get(verdict) && verdict == "DROPPED") ++c->dropped;
    if (!flow["source"].get_object().get(src) && !src["namespace"].get_string().get(src_ns)) {
      c->ns_bytes += src_ns.size();
    }
    if (!flow["destination"].get_object().get(dst) && !dst["namespace"].get_string().get(dst_ns)) {
      c->ns_bytes += dst_ns.size();
    }
    if (!flow["l4"].get_object().get(l4)) {
      for (auto field : l4) {
        od::object proto;
        if (field.value().get_object().get(proto)) continue;
        if (!proto["destination_port"].get_uint64().get(port)) c->port_sum += port;
        break;
      }
    }
  }
}

void BM_RawSimdjsonLoop(benchmark::State& state) {
  std::string one =
      Slurp(std::string(TIERWATCH_SOURCE_DIR) + "/examples/zero-trust-rollout/after.jsonl");
  std::string text;
  for (size_t i = 0, n = tw::bench::Scaled(20, 1); i < n; ++i) text += one;
  Counts c;
  for (auto _ : state) {
    c = Counts();
    Loop(text, &c);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.flows));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_RawSimdjsonLoop)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--file") == 0) {
    auto t0 = std::chrono::steady_clock::now();
    // One read into a padded buffer, as a hand-written tool would (a stringstream slurp
    // spent half the time in memmove and page faults).
    simdjson::padded_string text;
    if (simdjson::padded_string::load(argv[2]).get(text)) {
      std::fprintf(stderr, "raw_capture_bench: cannot read %s\n", argv[2]);
      return 2;
    }
    Counts c;
    Loop(std::string_view(text.data(), text.size()), &c);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("flows=%zu dropped=%zu other=%zu errors=%zu seconds=%.3f\n", c.flows, c.dropped,
                c.other, c.errors, s);
    return c.errors == 0 ? 0 : 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
