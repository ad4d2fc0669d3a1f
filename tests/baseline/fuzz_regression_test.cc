// Every input in fuzz/regressions/fuzz_baseline_snapshot/ (crashes fuzz_baseline_snapshot
// found and that were fixed) goes through the loader as the fuzz target feeds it: refused
// with a Status, or loaded and then re-encoded into a snapshot that loads again; never
// undefined behaviour (the asan preset aborts on any) or a crash.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "baseline/persist.h"
#include "gtest/gtest.h"
#include "testing/paths.h"

namespace tw::baseline {
namespace {

namespace fs = std::filesystem;

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// What fuzz/fuzz_baseline_snapshot.cc does with an input whose first byte is neither 'R'
// nor 'D': a valid header and checksums around the rest, version = low bit + 1.
std::string AsFuzzTargetSnapshot(const std::string& input) {
  const std::string payload = input.substr(1);
  std::string out(kSnapshotMagic);
  PutLE(&out, (static_cast<uint8_t>(input[0]) & 1) + 1, 2);
  PutLE(&out, payload.size(), 8);
  PutLE(&out, Crc32(payload), 4);
  PutLE(&out, Crc32(out), 4);
  return out + payload;
}

TEST(SnapshotFuzzRegressions, EveryFixedCrashInputIsRefusedOrRoundTrips) {
  const fs::path dir =
      fs::path(tw::testing::SourceDir()) / "fuzz" / "regressions" / "fuzz_baseline_snapshot";
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string input = ss.str();
    ASSERT_FALSE(input.empty()) << e.path();
    ASSERT_NE(input[0], 'R') << "raw snapshots: not handled here yet";
    ASSERT_NE(input[0], 'D') << "documents: not handled here yet";
    flow::SymbolTable symbols;
    absl::StatusOr<Baseline> b = DecodeSnapshot(AsFuzzTargetSnapshot(input), "fuzz.twb", symbols);
    if (b.ok()) {
      flow::SymbolTable again;
      absl::StatusOr<Baseline> b2 = DecodeSnapshot(EncodeSnapshot(*b), "again.twb", again);
      ASSERT_TRUE(b2.ok()) << e.path() << ": " << b2.status();
      EXPECT_EQ(b2->size(), b->size()) << e.path();
    }
    ++n;
  }
  EXPECT_GE(n, 2);
}

// The second: a loadable snapshot whose first seen is before 1970 and last seen after, by
// more than int64 nanoseconds hold; the writer took the span in int64 and overflowed.
TEST(SnapshotFuzzRegressions, ASpanWiderThanInt64RoundTrips) {
  flow::SymbolTable symbols;
  Baseline b(symbols);
  flow::ConnectionKey key;
  key.protocol = flow::Protocol::kTCP;
  key.port = 443;
  ConnectionStats st;
  st.first_seen = absl::FromUnixNanos(-8420220572242832276);  // 1703
  st.last_seen = absl::FromUnixNanos(1795165410230694236);    // 2026
  st.count = 1;
  ASSERT_TRUE(b.Insert(key, st));
  flow::SymbolTable again;
  absl::StatusOr<Baseline> back = DecodeSnapshot(EncodeSnapshot(b), "b.twb", again);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  const std::vector<ConnectionRecord> r = back->Sorted();
  EXPECT_EQ(r[0].first_seen, st.first_seen);
  EXPECT_EQ(r[0].last_seen, st.last_seen);
}

// The first one: a "last seen" span that overflows int64 when added to "first seen".
TEST(SnapshotFuzzRegressions, ASpanPastTheEndOfTimeIsOutOfRange) {
  const fs::path f = fs::path(tw::testing::SourceDir()) / "fuzz" / "regressions" /
                     "fuzz_baseline_snapshot" / "crash-c139c20a987856e162eff1c7d6ee0528a7b369bf";
  std::ifstream in(f, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  flow::SymbolTable symbols;
  absl::StatusOr<Baseline> b = DecodeSnapshot(AsFuzzTargetSnapshot(ss.str()), "fuzz.twb", symbols);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(absl::StrContains(b.status().message(), "last seen")) << b.status();
  EXPECT_TRUE(absl::StrContains(b.status().message(), "out of range")) << b.status();
}

}  // namespace
}  // namespace tw::baseline
