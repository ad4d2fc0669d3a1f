// Capture parsing speed on the real corpus (../shared/data/hubble-otel-flows, 1,916 flows):
// JsonDecoder (simdjson -> flow::Event) against protobuf's JsonStringToMessage +
// EventFromProto, plus the CaptureReader end to end and EventToJson. Reports flows/s
// (items_per_second) and MB/s (bytes_per_second). Skips when the corpus is absent.
//
//   build/release/bench/capture_parse_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "flow/json.h"
#include "flow/proto_convert.h"
#include "flow/symbol_cache.h"
#include "google/protobuf/util/json_util.h"
#include "sources/capture/capture_reader.h"

namespace {

namespace fs = std::filesystem;

struct Corpus {
  std::vector<std::string> files;
  std::vector<std::string> lines;
  size_t bytes = 0;
};

const Corpus& LoadCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus();
    fs::path dir = fs::path(TIERWATCH_SHARED_DIR) / "data" / "hubble-otel-flows";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return c;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".jsonl") c->files.push_back(entry.path().string());
    }
    std::sort(c->files.begin(), c->files.end());
    for (const std::string& f : c->files) {
      std::ifstream in(f);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        c->bytes += line.size() + 1;
        c->lines.push_back(line);
      }
    }
    return c;
  }();
  return *corpus;
}

bool SkipIfAbsent(benchmark::State& state, const Corpus& c) {
  if (!c.lines.empty()) return false;
  state.SkipWithError("../shared/data/hubble-otel-flows is absent; nothing to measure");
  return true;
}

// The corpus decoded once, for the benchmarks that start from events.
std::vector<tw::flow::Event> CorpusEvents(const Corpus& c, tw::flow::SymbolTable& symbols) {
  tw::flow::JsonDecoder decoder(symbols);
  std::vector<tw::flow::Event> events;
  for (const std::string& line : c.lines) events.push_back(*decoder.Decode(line));
  return events;
}

void BM_JsonDecoder(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  tw::flow::SymbolTable symbols;
  tw::flow::JsonDecoder decoder(symbols);
  size_t errors = 0;
  for (auto _ : state) {
    for (const std::string& line : c.lines) {
      absl::StatusOr<tw::flow::Event> ev = decoder.Decode(line);
      if (!ev.ok()) ++errors;
      benchmark::DoNotOptimize(ev);
    }
  }
  if (errors) state.SkipWithError("decode errors");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_JsonDecoder)->Unit(benchmark::kMillisecond);

void BM_ProtobufJsonStringToMessage(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  tw::flow::SymbolTable symbols;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  size_t errors = 0;
  for (auto _ : state) {
    for (const std::string& line : c.lines) {
      ::observer::GetFlowsResponse resp;
      if (!google::protobuf::util::JsonStringToMessage(line, &resp, options).ok()) ++errors;
      tw::flow::Event ev = tw::flow::EventFromProto(resp, symbols);
      benchmark::DoNotOptimize(ev);
    }
  }
  if (errors) state.SkipWithError("decode errors");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_ProtobufJsonStringToMessage)->Unit(benchmark::kMillisecond);

// From the files on disk (page cache) to events in a callback, as `--capture` runs.
void BM_CaptureReader(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  tw::flow::SymbolTable symbols;
  for (auto _ : state) {
    tw::sources::CaptureReader reader(c.files, symbols, {.strict = true});
    size_t n = 0;
    absl::Status st = reader.Run([&](tw::flow::Event&& ev) {
      benchmark::DoNotOptimize(ev);
      ++n;
      return true;
    });
    if (!st.ok() || n != c.lines.size()) state.SkipWithError("capture read failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.bytes));
}
BENCHMARK(BM_CaptureReader)->Unit(benchmark::kMillisecond);

void BM_EventToJson(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  tw::flow::SymbolTable symbols;
  const std::vector<tw::flow::Event> events = CorpusEvents(c, symbols);
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const tw::flow::Event& ev : events) {
      std::string json = tw::flow::EventToJson(ev);
      bytes += static_cast<int64_t>(json.size()) + 1;
      benchmark::DoNotOptimize(json);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_EventToJson)->Unit(benchmark::kMillisecond);

// The live path's conversion alone: protobuf GetFlowsResponse -> flow::Event (what every
// relay message costs after gRPC's parse), through the lock-free SymbolCache as the relay
// client uses it, and back (the replay server's direction).
std::vector<::observer::GetFlowsResponse> CorpusMessages(const Corpus& c) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::vector<::observer::GetFlowsResponse> out(c.lines.size());
  for (size_t i = 0; i < c.lines.size(); ++i) {
    (void)google::protobuf::util::JsonStringToMessage(c.lines[i], &out[i], options);
  }
  return out;
}

void BM_EventFromProto(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  const std::vector<::observer::GetFlowsResponse> messages = CorpusMessages(c);
  tw::flow::SymbolTable symbols;
  tw::flow::SymbolCache cache(symbols);
  for (auto _ : state) {
    for (const auto& m : messages) {
      tw::flow::Event ev = tw::flow::EventFromProto(m, cache);
      benchmark::DoNotOptimize(ev);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(messages.size()));
}
BENCHMARK(BM_EventFromProto)->Unit(benchmark::kMillisecond);

void BM_EventToProto(benchmark::State& state) {
  const Corpus& c = LoadCorpus();
  if (SkipIfAbsent(state, c)) return;
  tw::flow::SymbolTable symbols;
  const std::vector<tw::flow::Event> events = CorpusEvents(c, symbols);
  ::observer::GetFlowsResponse pb;
  for (auto _ : state) {
    for (const tw::flow::Event& ev : events) {
      tw::flow::EventToProto(ev, &pb);
      benchmark::DoNotOptimize(pb);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(BM_EventToProto)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
