// tierwatch replay: serve captures as a Hubble-Relay-compatible gRPC endpoint (the demo's
// relay, the tests' relay, the benchmarks' load). The behaviour lives in
// replay/replay_server.h; this file parses flags, loads the captures, prints
// "listening on HOST:PORT" once ready and serves until SIGINT/SIGTERM.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "app/signals.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/time_format.h"
#include "replay/replay_server.h"
#include "sources/capture/capture_reader.h"

namespace tw::cli {

namespace {

struct ReplayArgs {
  std::vector<std::string> captures;
  std::string listen = "127.0.0.1:4245";
  double rate = 0;
  bool loop = false;
  std::string start_at;
  uint64_t history = 1'000'000;
  uint64_t seed = 0;
  std::string tls_cert, tls_key, tls_client_ca;
  bool strict = false;
};

int Fail(absl::string_view msg) {
  std::cerr << "tierwatch replay: " << msg << "\n";
  return kExitUsage;
}

int RunReplay(const ReplayArgs& a) {
  if (a.rate < 0) return Fail("--rate must be >= 0");
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    return Fail("--tls-cert and --tls-key go together");
  }
  if (!a.tls_client_ca.empty() && a.tls_cert.empty()) {
    return Fail("--tls-client-ca (mTLS) needs --tls-cert and --tls-key");
  }
  replay::ReplayOptions o;
  o.listen = a.listen;
  o.rate = a.rate;
  o.loop = a.loop;
  o.history_capacity = a.history;
  o.uuid_seed = a.seed;
  o.tls.cert_file = a.tls_cert;
  o.tls.key_file = a.tls_key;
  o.tls.client_ca_file = a.tls_client_ca;
  if (!a.start_at.empty()) {
    auto t = ParseTime(a.start_at);
    if (!t.ok()) return Fail(absl::StrCat("--start-at: ", t.status().message()));
    o.start_at = *t;
  }

  // Before the gRPC server starts its threads, which inherit the signal mask.
  absl::Mutex mu;
  bool stop = false;
  app::SignalThread signals({[&](int, int) {
                               absl::MutexLock lock(&mu);
                               stop = true;
                             },
                             nullptr});

  flow::SymbolTable symbols;
  sources::CaptureOptions copts;
  copts.strict = a.strict;
  copts.errors = &std::cerr;
  sources::SourceStats stats;
  auto events = sources::ReadCaptures(a.captures, symbols, copts, &stats);
  if (!events.ok()) return Fail(events.status().message());
  if (stats.flows == 0) return Fail("the capture holds no flows");

  replay::ReplayServer server(*std::move(events), o);
  absl::Status st = server.Start();
  if (!st.ok()) return Fail(st.message());
  std::printf("listening on %s\n", server.address().c_str());
  if (absl::StartsWith(server.address(), "0.0.0.0:")) {
    std::cerr << "tierwatch replay: listening on every interface (give HOST:PORT, e.g. "
                 "127.0.0.1:4245, to stay local)\n";
  }
  std::fflush(stdout);
  std::cerr << "tierwatch replay: serving " << stats.flows << " flows from "
            << server.node_names().size() << " node(s)"
            << (a.rate > 0 ? absl::StrCat(" at ", a.rate, " flows/s") : std::string())
            << (a.loop ? ", looping" : "")
            << (stats.malformed ? absl::StrCat(" (skipped ", stats.malformed, " malformed line(s))")
                                : std::string())
            << "; Ctrl-C stops\n";

  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&stop));
  }
  server.Shutdown();
  return kExitOk;
}

}  // namespace

void RegisterReplay(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand("replay",
                                     "Serve captures as a Hubble Relay (a stand-in for demos "
                                     "and tests)");
  cmd->footer(
      "observer.Observer over gRPC (GetFlows, ServerStatus,\n"
      "GetNodes, GetNamespaces) with Relay's request semantics, so `tierwatch observe`,\n"
      "`tierwatch run` and `hubble observe --server` can read it.\n\n"
      "Prints `listening on HOST:PORT` on stdout when ready (use port 0 for a free port).\n"
      "Without --rate the whole capture is the relay's backlog at once; with --rate N flows\n"
      "appear at N per second from --start-at (default: now), and a replay restarted with the\n"
      "same --start-at holds the same flows at the same times, as agents' buffers do across\n"
      "a relay restart. --loop repeats the capture as new traffic: fresh uuids, and times\n"
      "that keep increasing (with --rate the time a flow appears); with no --rate followers\n"
      "read it as fast as they can.\n\n"
      "--listen PORT (no host) listens on every interface, as hubble-relay does; a port in\n"
      "use is reported with its number.\n\n"
      "Examples:\n"
      "  tierwatch replay --capture examples/zero-trust-rollout/after.jsonl\n"
      "  tierwatch replay --capture before.jsonl --listen 127.0.0.1:0 --rate 200 --loop\n"
      "  tierwatch replay --capture f.jsonl --tls-cert relay.crt --tls-key relay.key \\\n"
      "      --tls-client-ca ca.crt      # mTLS, as hubble.relay.tls.server.mtls\n");
  AddCaptureOption(cmd, &a->captures)->required();
  cmd->add_option("--listen", a->listen,
                  "HOST:PORT to listen on, or PORT for every interface; port 0 picks a free "
                  "port (default 127.0.0.1:4245)")
      ->type_name("ADDR");
  cmd->add_option("--rate", a->rate, "Flows per second in follow mode (0: no pacing)")
      ->type_name("N");
  cmd->add_flag("--loop", a->loop, "Repeat the capture forever as new traffic");
  cmd->add_option("--start-at", a->start_at,
                  "RFC 3339 wall-clock time at which the first flow appears with --rate")
      ->type_name("TIME");
  AddCountOption(cmd, "--history", &a->history,
                 "Events kept for requests to rewind over (the ring buffer; default 1000000)");
  cmd->add_option("--seed", a->seed, "Seed for the uuids of looped passes")->type_name("N");
  cmd->add_option("--tls-cert", a->tls_cert, "PEM server certificate (enables TLS)")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_option("--tls-key", a->tls_key, "PEM server key")->type_name("FILE")->group("TLS");
  cmd->add_option("--tls-client-ca", a->tls_client_ca,
                  "PEM CA; clients must present a certificate it signed (mTLS)")
      ->type_name("FILE")
      ->group("TLS");
  cmd->add_flag("--strict", a->strict, "A malformed capture line is fatal (exit 2)");
  cmd->callback([a, &ctx] { ctx.run = [a] { return RunReplay(*a); }; });
}

}  // namespace tw::cli
