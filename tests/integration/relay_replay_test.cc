// Process-level tests of `tierwatch replay` and `tierwatch observe`: the real binary as a
// child process, real captures on disk, kill -9 of the relay mid-stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/time_format.h"
#include "flow/json.h"
#include "replay/synthetic_capture.h"
#include "sources/capture/capture_reader.h"
#include "sources/relay/relay_client.h"
#include "testing/eventually.h"
#include "testing/paths.h"

namespace tw {
namespace {

namespace fs = std::filesystem;
using replay::testing::CaptureStart;
using replay::testing::SyntheticCapture;
using replay::testing::SyntheticUuid;

// A child process with its stdout on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args, const std::string& stdout_file = "") {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      if (stdout_file.empty()) {
        dup2(fds[1], 1);
      } else {
        int fd = open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
      }
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
  }
  // The next stdout line (without newline); "" at EOF.
  std::string ReadLine() {
    char* line = nullptr;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, out_);
    std::string s = n > 0 ? std::string(line, n) : std::string();
    free(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  std::string ReadAll() {
    std::string all;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), out_)) > 0) all.append(buf, n);
    return all;
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Exit status (or 128 + signal).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool reaped_ = false;
};

struct Replay {
  std::unique_ptr<Child> child;
  std::string address;
  int port = 0;
};

Replay StartReplay(std::vector<std::string> extra) {
  std::vector<std::string> args = {testing::TierwatchBin(), "replay"};
  args.insert(args.end(), extra.begin(), extra.end());
  Replay r;
  r.child = std::make_unique<Child>(args);
  std::string line = r.child->ReadLine();
  EXPECT_TRUE(absl::StartsWith(line, "listening on ")) << "replay said: " << line;
  if (!absl::StartsWith(line, "listening on ")) return r;
  r.address = line.substr(strlen("listening on "));
  std::pair<std::string, std::string> hp = absl::StrSplit(r.address, ':');
  EXPECT_TRUE(absl::SimpleAtoi(hp.second, &r.port));
  return r;
}

struct ProcResult {
  int exit = -1;
  std::string out;
};

ProcResult Tierwatch(std::vector<std::string> args) {
  args.insert(args.begin(), testing::TierwatchBin());
  Child c(args);
  ProcResult r;
  r.out = c.ReadAll();
  r.exit = c.Wait();
  return r;
}

class RelayReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tw-relay-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteCapture(const std::vector<flow::Event>& evs, const std::string& name) {
    std::string path = (fs::path(dir_) / name).string();
    std::ofstream out(path);
    for (const auto& e : evs) out << flow::EventToJson(e) << "\n";
    return path;
  }
  std::vector<flow::Event> Read(const std::string& path) {
    auto evs = sources::ReadCaptures({path}, symbols_, {.strict = true});
    EXPECT_TRUE(evs.ok()) << evs.status();
    return evs.ok() ? *evs : std::vector<flow::Event>();
  }
  std::vector<flow::Event> ReadText(const std::string& text, const std::string& name) {
    std::string path = (fs::path(dir_) / name).string();
    std::ofstream(path) << text;
    return Read(path);
  }

  std::string dir_;
  flow::SymbolTable symbols_;
};

// The relay process is killed with SIGKILL mid-stream and restarted on the same port with
// the same schedule (--start-at): like agents' ring buffers across a Relay restart, the new
// process holds the flows the old one had served. The client must see every flow exactly
// once, in order.
TEST_F(RelayReplayTest, KillNineMidStreamLosesAndDuplicatesNothing) {
  const int kFlows = 1500;
  std::string capture = WriteCapture(SyntheticCapture(symbols_, kFlows), "paced.jsonl");
  std::string start_at = FormatRfc3339(absl::Now());
  std::vector<std::string> args = {"--capture", capture, "--rate", "500", "--start-at", start_at};
  std::vector<std::string> first_args = args;
  first_args.insert(first_args.end(), {"--listen", "127.0.0.1:0"});
  Replay relay = StartReplay(first_args);
  ASSERT_GT(relay.port, 0);

  sources::RelayClientOptions o;
  o.address = relay.address;
  o.follow = true;
  o.since = CaptureStart() - absl::Seconds(1);
  o.connect_timeout = absl::Seconds(5);
  o.backoff = {absl::Milliseconds(50), absl::Milliseconds(400), 2.0, 0.5};
  sources::RelayClient client(o, symbols_);
  absl::Mutex mu;
  std::vector<std::string> uuids;
  std::thread t([&] {
    absl::Status st = client.Run([&](flow::Event&& ev) {
      if (ev.flow) {
        absl::MutexLock lock(&mu);
        uuids.push_back(ev.flow->uuid);
      }
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
  });
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return uuids.size();
  };
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (count() < 400 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  relay.child->Signal(SIGKILL);
  EXPECT_EQ(relay.child->Wait(), 128 + SIGKILL);
  size_t at_kill = count();
  absl::SleepFor(absl::Milliseconds(500));  // flows keep "happening" while it is down

  std::vector<std::string> again = args;
  again.insert(again.end(), {"--listen", absl::StrCat("127.0.0.1:", relay.port)});
  Replay restarted = StartReplay(again);
  ASSERT_EQ(restarted.port, relay.port);
  while (count() < static_cast<size_t>(kFlows) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  // Nothing extra: end the relay's stream (SIGTERM, a clean exit) and wait until the client
  // has seen it end. A stream delivers in order, so once its end is seen every flow the
  // relay sent is in `uuids`.
  const uint64_t reconnects_before = client.stats().reconnects;
  restarted.child->Signal(SIGTERM);
  EXPECT_EQ(restarted.child->Wait(), 0);
  EXPECT_TRUE(testing::Eventually([&] { return client.stats().reconnects > reconnects_before; }))
      << "the client did not see the relay's stream end";
  client.Stop();
  t.join();

  EXPECT_LT(at_kill, static_cast<size_t>(kFlows)) << "the kill was not mid-stream";
  std::vector<std::string> want;
  for (int i = 0; i < kFlows; ++i) want.push_back(SyntheticUuid(i));
  EXPECT_EQ(uuids, want);
  std::set<std::string> unique(uuids.begin(), uuids.end());
  EXPECT_EQ(unique.size(), uuids.size());
  EXPECT_GE(client.stats().reconnects, 1u);
}

TEST_F(RelayReplayTest, ObserveJsonOfACaptureReadsBackEqual) {
  std::vector<std::string> files = {
      WriteCapture(SyntheticCapture(symbols_, 500, 40), "synthetic.jsonl")};
  fs::path example = fs::path(testing::SourceDir()) / "examples" / "zero-trust-rollout";
  std::error_code ec;
  if (fs::is_directory(example, ec)) {
    for (const auto& e : fs::directory_iterator(example)) {
      if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
    }
  }
  std::string corpus = testing::SharedCorpusDir();
  if (!corpus.empty()) {
    for (const auto& e : fs::directory_iterator(corpus)) {
      if (e.path().extension() == ".json" || e.path().extension() == ".jsonl") {
        files.push_back(e.path().string());
      }
    }
  }
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    ProcResult r = Tierwatch({"observe", "--capture", file, "-o", "json"});
    ASSERT_EQ(r.exit, 0);
    auto in = Read(file);
    auto out = ReadText(r.out, "out.jsonl");
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) ASSERT_TRUE(in[i] == out[i]) << "event " << i;
  }
}

TEST_F(RelayReplayTest, ObserveCaptureFiltersAndLastFirst) {
  std::string capture = WriteCapture(SyntheticCapture(symbols_, 140), "c.jsonl");
  ProcResult r = Tierwatch({"observe", "--capture", capture, "--verdict", "DROPPED", "-o", "json"});
  ASSERT_EQ(r.exit, 0);
  auto drops = ReadText(r.out, "drops.jsonl");
  ASSERT_EQ(drops.size(), 20u);
  for (const auto& e : drops) EXPECT_EQ(e.flow->verdict, flow::Verdict::kDropped);

  r = Tierwatch({"observe", "--capture", capture, "--last", "3", "--from-namespace", "business",
                 "-o", "json"});
  auto last = ReadText(r.out, "last.jsonl");
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last.back().flow->uuid, SyntheticUuid(136));  // the last drop (i % 7 == 3)

  r = Tierwatch({"observe", "--capture", capture, "--first", "2", "--to-port", "5432"});
  ASSERT_EQ(r.exit, 0);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("kube-system/coredns-5d78c9869d-x1:30000 (ID:12345) -> "
                          "business/postgres-0:5432 (ID:23456)"),
            std::string::npos)
      << lines[0];
  // As hubble: the node name only with --print-node-name.
  EXPECT_EQ(lines[0].find("[prod/worker-1]"), std::string::npos) << lines[0];
  r = Tierwatch({"observe", "--capture", capture, "--first", "1", "--print-node-name"});
  EXPECT_NE(r.out.find(" [prod/worker-1]: "), std::string::npos) << r.out;
}

TEST_F(RelayReplayTest, ObserveAgainstTheReplayProcess) {
  std::string capture = WriteCapture(SyntheticCapture(symbols_, 90), "relay.jsonl");
  Replay relay = StartReplay({"--capture", capture, "--listen", "127.0.0.1:0"});
  ASSERT_GT(relay.port, 0);

  // Like hubble: no selector = the last 20 per node (3 nodes here).
  ProcResult r = Tierwatch({"observe", "--relay", relay.address, "-o", "json"});
  ASSERT_EQ(r.exit, 0);
  auto evs = ReadText(r.out, "default.jsonl");
  ASSERT_EQ(evs.size(), 60u);
  EXPECT_EQ(evs.front().flow->uuid, SyntheticUuid(30));

  r = Tierwatch({"observe", "--relay", relay.address, "--all", "-o", "json"});
  auto all = ReadText(r.out, "all.jsonl");
  auto in = Read(capture);
  ASSERT_EQ(all.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) EXPECT_TRUE(in[i] == all[i]) << i;

  // Filters travel to the relay as FlowFilter protos.
  r = Tierwatch({"observe", "--relay", relay.address, "--all", "--verdict", "DROPPED", "--from-pod",
                 "business/odoo", "-o", "json"});
  EXPECT_EQ(ReadText(r.out, "drops.jsonl").size(), 13u);

  r = Tierwatch({"observe", "--relay", relay.address, "--last", "1"});
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 3u);

  relay.child->Signal(SIGINT);
  EXPECT_EQ(relay.child->Wait(), 0);
}

TEST_F(RelayReplayTest, BadUsageExitsTwo) {
  std::string capture = WriteCapture(SyntheticCapture(symbols_, 5), "c.jsonl");
  EXPECT_EQ(Tierwatch({"observe"}).exit, 2);
  EXPECT_EQ(Tierwatch({"observe", "--capture", capture, "--verdict", "MAYBE"}).exit, 2);
  EXPECT_EQ(Tierwatch({"observe", "--capture", dir_ + "/missing.jsonl"}).exit, 2);
  EXPECT_EQ(Tierwatch({"observe", "--capture", capture, "--since", "yesterday"}).exit, 2);
  EXPECT_EQ(Tierwatch({"replay", "--capture", dir_ + "/missing.jsonl"}).exit, 2);
  EXPECT_EQ(Tierwatch({"observe", "--relay", "127.0.0.1:1", "--connect-timeout", "1s"}).exit, 2);
}

}  // namespace
}  // namespace tw
