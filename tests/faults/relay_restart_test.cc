// The relay killed (SIGKILL) and restarted at random points while the relay client (the
// daemon's source) follows it: 20 restarts in `make test`, 100 in `make soak`. The replay
// relay restarts on the same port with the same schedule (--start-at), so, like agents' ring
// buffers across a Relay restart, the new process holds every flow the old one had. Every
// flow must arrive exactly once (by uuid), nothing may hang.
#include <signal.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/time_format.h"
#include "faults/fault_util.h"
#include "gtest/gtest.h"
#include "integration/process.h"
#include "sources/relay/relay_client.h"
#include "testing/paths.h"

namespace tw::faults {
namespace {

using tw::testing::Process;

// Starts `tierwatch replay`; returns the port it listens on (0 on failure).
int StartReplay(const std::vector<std::string>& args, const fs::path& dir, int n,
                std::unique_ptr<Process>* out) {
  std::vector<std::string> full = {tw::testing::TierwatchBin(), "replay"};
  full.insert(full.end(), args.begin(), args.end());
  *out = std::make_unique<Process>(full, dir / absl::StrCat("relay", n, ".out"),
                                   dir / absl::StrCat("relay", n, ".err"));
  if (!(*out)->AwaitOut("listening on ")) return 0;
  std::string o = (*out)->out();
  std::string addr = o.substr(o.find("listening on ") + 13);
  addr = addr.substr(0, addr.find('\n'));
  int port = 0;
  if (!absl::SimpleAtoi(addr.substr(addr.rfind(':') + 1), &port)) return 0;
  return port;
}

TEST(RelayRestartFaultTest, EveryFlowArrivesExactlyOnceAcrossRandomRestarts) {
  const int restarts = Count(20, 100);
  const int per_restart = 50;               // flows between restarts, on average (0.25 s at 200/s)
  const int flows = restarts * 600 + 1000;  // 3 s of schedule per restart
  const fs::path dir = ScratchDir("relay");
  const fs::path capture = WriteCapture(dir / "c.jsonl", flows, "r");

  const std::string start_at = FormatRfc3339(absl::Now());
  // Paced at 200 flows/s, so the restarts land mid-stream; the last relay serves the rest
  // unpaced (a superset of what the paced one holds), so the test need not wait out the
  // schedule.
  auto schedule_at = [&](const char* rate) {
    return std::vector<std::string>{"--capture", capture.string(), "--rate",
                                    rate,        "--start-at",     start_at};
  };
  const std::vector<std::string> schedule = schedule_at("200");
  std::vector<std::string> first = schedule;
  first.insert(first.end(), {"--listen", "127.0.0.1:0"});
  std::unique_ptr<Process> relay;
  const int port = StartReplay(first, dir, 0, &relay);
  ASSERT_GT(port, 0) << relay->err();

  flow::SymbolTable symbols;
  sources::RelayClientOptions o;
  o.address = absl::StrCat("127.0.0.1:", port);
  o.follow = true;
  o.since = absl::FromUnixSeconds(1764300000) - absl::Seconds(1);
  o.connect_timeout = absl::Seconds(5);
  o.backoff = {absl::Milliseconds(20), absl::Milliseconds(300), 2.0, 0.5};
  sources::RelayClient client(o, symbols);
  absl::Mutex mu;
  std::vector<std::string> uuids;
  absl::Status run_status;
  std::thread t([&] {
    run_status = client.Run([&](flow::Event&& ev) {
      if (ev.flow) {
        absl::MutexLock lock(&mu);
        uuids.push_back(ev.flow->uuid);
      }
      return true;
    });
  });
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return uuids.size();
  };
  // A failed ASSERT below returns early: stop and join the client thread first (a joinable
  // std::thread would terminate the process and lose the report).
  auto stop_client = absl::MakeCleanup([&] {
    if (t.joinable()) {
      client.Stop();
      t.join();
    }
  });
  // A stall is 60 s without a new flow (the deadline only turns a hang into a failure; it
  // is per wait, so `make soak`'s 100 restarts on a loaded machine are not a "stall").
  auto await_count = [&](size_t n) {
    size_t seen = count();
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (count() < n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
      if (size_t now = count(); now > seen) {
        seen = now;
        deadline = absl::Now() + absl::Seconds(60);
      }
    }
    return count() >= n;
  };

  std::mt19937_64 rng(4242);  // fixed seed: a failure reproduces
  std::uniform_int_distribution<int> gap(per_restart / 2, per_restart * 3 / 2);
  std::uniform_int_distribution<int> down_ms(0, 300);
  int survived = 0;
  double rss_warm = 0;  // after the first restart: buffers and channels exist by then
  for (int i = 1; i <= restarts; ++i) {
    // Mid-stream unless a slow machine let the schedule run out (then still a restart).
    size_t target = std::min(count() + static_cast<size_t>(gap(rng)), static_cast<size_t>(flows));
    ASSERT_TRUE(await_count(target)) << "stalled at " << count() << " flows, restart " << i;
    relay->Signal(SIGKILL);
    ASSERT_EQ(relay->Wait(), 128 + SIGKILL);
    absl::SleepFor(absl::Milliseconds(down_ms(rng)));  // flows keep "happening" meanwhile
    std::vector<std::string> again = i == restarts ? schedule_at("0") : schedule;
    again.insert(again.end(), {"--listen", absl::StrCat("127.0.0.1:", port)});
    ASSERT_EQ(StartReplay(again, dir, i, &relay), port) << relay->err();
    ++survived;
    if (i == 1) rss_warm = RssMiB();
  }
  const bool all = await_count(static_cast<size_t>(flows));
  const double rss_end = RssMiB();
  client.Stop();
  t.join();
  std::move(stop_client).Cancel();
  EXPECT_TRUE(run_status.ok()) << run_status;
  EXPECT_TRUE(all) << "only " << count() << " of " << flows << " flows arrived";

  std::set<std::string> unique(uuids.begin(), uuids.end());
  const size_t duplicated = uuids.size() - unique.size();
  size_t lost = 0;
  for (int i = 0; i < flows; ++i) lost += unique.count(absl::StrCat("r-", i)) ? 0 : 1;
  const sources::SourceStats stats = client.stats();
  std::fflush(stdout);
  std::printf(
      "fault-counts relay_restarts restarts=%d flows=%d delivered=%zu lost=%zu duplicated=%zu "
      "reconnects=%llu duplicates_dropped=%llu rss_after_first_restart_mib=%.1f "
      "rss_end_mib=%.1f\n",
      survived, flows, uuids.size(), lost, duplicated,
      static_cast<unsigned long long>(stats.reconnects),
      static_cast<unsigned long long>(stats.duplicates), rss_warm, rss_end);
  std::fflush(stdout);
  EXPECT_EQ(survived, restarts);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_GE(stats.reconnects, static_cast<uint64_t>(survived));
  // Memory stays flat across restarts: what grows is the uuids vector of this test (a few
  // hundred KB), not the client (its de-duplication window is bounded).
  if (kRssBoundsHold) {
    EXPECT_LT(rss_end - rss_warm, 16.0) << "RSS grew across restarts";
  }
  relay->Signal(SIGTERM);
  EXPECT_EQ(relay->Wait(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tw::faults
