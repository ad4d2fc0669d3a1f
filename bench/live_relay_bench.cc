// The live path's reference (issue 11): a plain C++ gRPC Observer server that streams a
// capture's flows as fast as gRPC takes them (fresh uuid and time per flow, so nothing is
// a duplicate), and a raw GetFlows read loop (protobuf parse, count, nothing else).
// scripts/bench.sh runs the server in one process and, in turn, the raw loop and
// `tierwatch run` against it, and compares their CPU per flow in the same run.
//
//   live_relay_bench --serve CAPTURE N     # prints "listening on 127.0.0.1:PORT"; each
//                                          # GetFlows call streams N flows, then holds the
//                                          # stream open until the client goes
//   live_relay_bench --serve-paced CAPTURE RATE SECONDS
//                                          # the latency row: the first GetFlows call streams
//                                          # RATE flows/s for SECONDS, each stamped with the
//                                          # wall clock as it is sent (so the daemon's
//                                          # tierwatch_flow_lag_seconds measures relay send ->
//                                          # metric update); prints "sent=N seconds=S" when done
//   live_relay_bench --read ADDR N         # the raw loop: reads N flows, prints
//                                          # flows=N cpu_seconds=C wall_seconds=W
//   live_relay_bench                       # Google Benchmark: both in one process
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench_input.h"
#include "bench_scale.h"
#include "flow/proto_convert.h"
#include "observer/observer.grpc.pb.h"

namespace {

using ::observer::GetFlowsRequest;
using ::observer::GetFlowsResponse;

// The capture's flows as wire messages, in order.
std::vector<GetFlowsResponse> Messages(const std::string& capture) {
  tw::flow::SymbolTable symbols;
  std::vector<GetFlowsResponse> out;
  for (const tw::flow::Event& ev : tw::bench::ReadEvents(capture, symbols)) {
    if (!ev.flow) continue;
    GetFlowsResponse m;
    tw::flow::EventToProto(ev, &m);
    out.push_back(std::move(m));
  }
  return out;
}

class Server final : public ::observer::Observer::Service {
 public:
  Server(std::vector<GetFlowsResponse> messages, size_t per_call)
      : messages_(std::move(messages)), per_call_(per_call) {}

  grpc::Status GetFlows(grpc::ServerContext* ctx, const GetFlowsRequest*,
                        grpc::ServerWriter<GetFlowsResponse>* w) override {
    if (rate_ > 0 && calls_++ == 0) return Paced(ctx, w);
    const int64_t base = absl::ToUnixSeconds(absl::Now()) - 3600;
    std::string uuid;
    for (size_t i = 0; i < per_call_ && !ctx->IsCancelled(); ++i) {
      GetFlowsResponse m = messages_[i % messages_.size()];
      // Fresh uuid and strictly increasing times: a client's resume de-duplication and the
      // daemon's twin folding see distinct flows, as on a busy cluster.
      uuid = absl::StrCat("bench-", calls_.load(), "-", i);
      m.mutable_flow()->set_uuid(uuid);
      const int64_t ns = static_cast<int64_t>(i) * 1000;
      m.mutable_flow()->mutable_time()->set_seconds(base + ns / 1000000000);
      m.mutable_flow()->mutable_time()->set_nanos(static_cast<int32_t>(ns % 1000000000));
      *m.mutable_time() = m.flow().time();
      if (!w->Write(m)) return grpc::Status::CANCELLED;
    }
    ++calls_;
    if (hold_) {
      while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return grpc::Status::OK;
  }
  void set_hold(bool hold) { hold_ = hold; }

  // Sends `rate` flows per second for `seconds`, in the small bursts a relay's stream has
  // (whatever is due every ~100 µs), each flow's time the wall clock at its send.
  void set_pace(size_t rate, double seconds) {
    rate_ = rate;
    seconds_ = seconds;
  }
  grpc::Status Paced(grpc::ServerContext* ctx, grpc::ServerWriter<GetFlowsResponse>* w) {
    const size_t total = static_cast<size_t>(static_cast<double>(rate_) * seconds_);
    const auto start = std::chrono::steady_clock::now();
    size_t sent = 0;
    while (sent < total && !ctx->IsCancelled()) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const size_t due =
          std::min(total, static_cast<size_t>(elapsed * static_cast<double>(rate_)) + 1);
      if (sent >= due) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        continue;
      }
      for (; sent < due; ++sent) {
        GetFlowsResponse m = messages_[sent % messages_.size()];
        m.mutable_flow()->set_uuid(absl::StrCat("paced-", sent));
        const absl::Time now = absl::Now();
        const int64_t ns = absl::ToUnixNanos(now);
        m.mutable_flow()->mutable_time()->set_seconds(ns / 1000000000);
        m.mutable_flow()->mutable_time()->set_nanos(static_cast<int32_t>(ns % 1000000000));
        *m.mutable_time() = m.flow().time();
        if (!w->Write(m)) return grpc::Status::CANCELLED;
      }
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("sent=%zu seconds=%.3f\n", sent, took);
    std::fflush(stdout);
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return grpc::Status::OK;
  }

 private:
  std::vector<GetFlowsResponse> messages_;
  size_t per_call_;
  std::atomic<int> calls_{0};
  bool hold_ = true;
  size_t rate_ = 0;
  double seconds_ = 0;
};

std::unique_ptr<grpc::Server> Start(Server* service, int* port) {
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  b.RegisterService(service);
  return b.BuildAndStart();
}

// The whole process's CPU: gRPC's own threads work for the read loop too. (--read runs
// without the server in the process.)
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The raw loop: GetFlows, parse each message (gRPC does), count. Returns flows read.
size_t ReadFlows(const std::string& addr, size_t n) {
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = ::observer::Observer::NewStub(channel);
  grpc::ClientContext ctx;
  GetFlowsRequest req;
  req.set_follow(true);
  auto reader = stub->GetFlows(&ctx, req);
  GetFlowsResponse resp;
  size_t flows = 0;
  uint64_t ports = 0;
  while (flows < n && reader->Read(&resp)) {
    if (resp.has_flow()) {
      ++flows;
      ports += resp.flow().l4().tcp().destination_port();  // touch the parsed message
    }
  }
  benchmark::DoNotOptimize(ports);
  ctx.TryCancel();
  reader->Finish();
  return flows;
}

void BM_RawGetFlowsLoop(benchmark::State& state) {
  const size_t n = tw::bench::Scaled(200000);
  Server service(Messages(tw::bench::Src("examples/zero-trust-rollout/after.jsonl")), n);
  int port = 0;
  auto server = Start(&service, &port);
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  size_t flows = 0;
  for (auto _ : state) flows = ReadFlows(addr, n);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(flows));
  server->Shutdown(std::chrono::system_clock::now());
}
BENCHMARK(BM_RawGetFlowsLoop)->Unit(benchmark::kMillisecond)->UseRealTime();

int Serve(const std::string& capture, size_t per_call, size_t rate = 0, double seconds = 0) {
  std::vector<GetFlowsResponse> messages = Messages(capture);
  if (messages.empty()) {
    std::fprintf(stderr, "live_relay_bench: no flows in %s\n", capture.c_str());
    return 2;
  }
  Server service(std::move(messages), per_call);
  service.set_pace(rate, seconds);
  int port = 0;
  auto server = Start(&service, &port);
  if (!server || port == 0) {
    std::fprintf(stderr, "live_relay_bench: cannot listen\n");
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  server->Wait();  // until killed
  return 0;
}

int Read(const std::string& addr, size_t n) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  const size_t flows = ReadFlows(addr, n);
  const double cpu = CpuSeconds() - c0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("flows=%zu cpu_seconds=%.3f wall_seconds=%.3f\n", flows, cpu, wall);
  return flows == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--serve") == 0) {
    return Serve(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  if (argc == 5 && std::strcmp(argv[1], "--serve-paced") == 0) {
    return Serve(argv[2], 0, std::strtoull(argv[3], nullptr, 10), std::strtod(argv[4], nullptr));
  }
  if (argc == 4 && std::strcmp(argv[1], "--read") == 0) {
    return Read(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
