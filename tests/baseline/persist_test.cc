// Snapshot files: round trip, and every way a file can be unloadable; the Saver.
#include "baseline/persist.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "baseline/document.h"
#include "common/time_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace tw::baseline {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class PersistTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testutil::TempDir("persist"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return dir_ + "/" + name; }

  flow::SymbolTable s_;
  std::string dir_;
};

TEST_F(PersistTest, Crc32MatchesZlib) {
  // The standard check value of CRC-32/ISO-HDLC (zlib's crc32).
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xCBF43926u);
}

TEST_F(PersistTest, SnapshotRoundTripThroughAFile) {
  Baseline b = testutil::Synthetic(s_, 5000);
  std::string path = Path("b.twb");
  ASSERT_TRUE(SaveSnapshot(b, path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // Loaded into another symbol table: equal by content.
  flow::SymbolTable other;
  absl::StatusOr<Baseline> loaded = LoadSnapshot(path, other);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 5000u);
  EXPECT_TRUE(*loaded == b);
  EXPECT_EQ(loaded->source(), b.source());
  EXPECT_EQ(loaded->first_seen(), b.first_seen());
  // Same insertion order, so re-encoding gives the same bytes.
  EXPECT_EQ(EncodeSnapshot(*loaded), ReadFile(path));
  // Server ports are rebuilt from the connections.
  EXPECT_EQ(loaded->server_ports().size(), b.server_ports().size());
}

TEST_F(PersistTest, EmptyBaselineRoundTrip) {
  Baseline b(s_);
  auto decoded = DecodeSnapshot(EncodeSnapshot(b), "empty", s_);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
}

TEST_F(PersistTest, CorruptFileIsDataLossNamingTheFile) {
  std::string bytes = EncodeSnapshot(testutil::Synthetic(s_, 200));
  // Flip one bit in the middle of the payload.
  std::string corrupt = bytes;
  corrupt[bytes.size() / 2] ^= 0x10;
  std::string path = Path("corrupt.twb");
  WriteFile(path, corrupt);
  auto loaded = LoadSnapshot(path, s_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("payload checksum mismatch"));

  // A damaged header.
  std::string bad_header = bytes;
  bad_header[10] ^= 0x01;
  auto h = DecodeSnapshot(bad_header, "h.twb", s_);
  EXPECT_EQ(h.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(h.status().message()), HasSubstr("header checksum mismatch"));

  // Extra bytes after the payload.
  auto trailing = DecodeSnapshot(bytes + "xx", "t.twb", s_);
  EXPECT_EQ(trailing.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(trailing.status().message()), HasSubstr("2 unexpected bytes"));
}

TEST_F(PersistTest, TruncatedFileAtEveryKindOfCut) {
  std::string bytes = EncodeSnapshot(testutil::Synthetic(s_, 300));
  for (size_t cut : {size_t{3}, size_t{7}, size_t{12}, kSnapshotHeaderSize, kSnapshotHeaderSize + 1,
                     bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    auto r = DecodeSnapshot(bytes.substr(0, cut), "cut.twb", s_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("cut.twb: truncated"));
  }
}

TEST_F(PersistTest, VersionMismatchIsFailedPrecondition) {
  std::string bytes = EncodeSnapshot(testutil::Synthetic(s_, 10));
  bytes[6] = 9;  // a format version from the future
  auto r = DecodeSnapshot(bytes, "v9.twb", s_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("v9.twb: baseline snapshot format version 9; this tierwatch reads "
                        "versions 1 to 2 (written by a newer tierwatch)"));
}

TEST_F(PersistTest, ForeignAndEmptyFiles) {
  auto png = DecodeSnapshot(std::string("\x89PNG\r\n\x1a\n0000000000000000", 24), "x.png", s_);
  EXPECT_EQ(png.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(png.status().message()),
              HasSubstr("x.png: not a tierwatch baseline snapshot: it starts with "
                        "\"\\x89PNG\\x0d\\x0a\\x1a\\x0a\""));
  auto empty = DecodeSnapshot("", "e.twb", s_);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("e.twb: empty file"));

  auto missing = LoadSnapshot(Path("missing.twb"), s_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  auto missing_any = LoadBaselineAny(Path("missing.twb"), s_);
  EXPECT_EQ(missing_any.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PersistTest, LoadAnyTellsSnapshotsAndDocumentsApart) {
  Baseline b = testutil::Synthetic(s_, 100);
  ASSERT_TRUE(SaveSnapshot(b, Path("b.twb")).ok());
  WriteFile(Path("b.yaml"), ExportBaselineDocument(b, DocumentFormat::kYaml));
  WriteFile(Path("b.json"), ExportBaselineDocument(b, DocumentFormat::kJson));
  for (const char* name : {"b.twb", "b.yaml", "b.json"}) {
    SCOPED_TRACE(name);
    auto loaded = LoadBaselineAny(Path(name), s_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(*loaded == b);
  }
  EXPECT_EQ(DetectBaselineFile("TWBASE\x01"), BaselineFileKind::kSnapshot);
  EXPECT_EQ(DetectBaselineFile("\xEF\xBB\xBF{\"a\":1}"), BaselineFileKind::kDocument);
  EXPECT_EQ(DetectBaselineFile("# comment\napiVersion: x"), BaselineFileKind::kDocument);
  EXPECT_EQ(DetectBaselineFile(std::string("\x00\x01\x02", 3)), BaselineFileKind::kUnknown);

  WriteFile(Path("garbage.bin"), std::string("\x7f"
                                             "ELF\x02\x01\x01\x00",
                                             8));
  auto garbage = LoadBaselineAny(Path("garbage.bin"), s_);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(garbage.status().message()),
              HasSubstr("not a tierwatch baseline: neither a snapshot"));
  WriteFile(Path("other.yaml"), "apiVersion: v1\nkind: ConfigMap\n");
  auto other = LoadBaselineAny(Path("other.yaml"), s_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()),
              HasSubstr("other.yaml: not a tierwatch baseline document (expected kind: "
                        "TierwatchBaseline"));
}

TEST_F(PersistTest, AtomicWriteFailsCleanlyInAMissingDirectory) {
  auto st = WriteFileAtomically(Path("no/such/dir/b.twb"), "x");
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr(Path("no/such/dir/b.twb")));
}

// --- Saver -----------------------------------------------------------------------------

TEST_F(PersistTest, SaverStartsEmptySavesOnIntervalAndReloads) {
  ManualTimeSource clock(testutil::kT0);
  SaverOptions opts;
  opts.path = Path("daemon.twb");
  opts.interval = absl::Minutes(5);
  Saver saver(opts, clock);
  Baseline fresh(s_);
  // Not started: refuses.
  EXPECT_EQ(saver.Save(fresh).code(), absl::StatusCode::kFailedPrecondition);

  auto started = saver.Start(s_);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_TRUE(started->empty());
  Baseline b = testutil::Synthetic(s_, 50);
  EXPECT_FALSE(saver.Due());
  ASSERT_TRUE(saver.MaybeSave(b).ok());
  EXPECT_EQ(saver.saves(), 0u);
  EXPECT_FALSE(std::filesystem::exists(opts.path));
  clock.Advance(absl::Minutes(5));
  EXPECT_TRUE(saver.Due());
  ASSERT_TRUE(saver.MaybeSave(b).ok());
  EXPECT_EQ(saver.saves(), 1u);
  EXPECT_FALSE(saver.Due());

  // A second daemon on the same file while this one runs is refused, naming the holder.
  Saver rival(opts, clock);
  auto refused = rival.Start(s_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("is writing " + opts.path));
  // As is a one-shot writer (baseline learn --out) after its bounded wait.
  EXPECT_EQ(tw::WriteFileAtomically(opts.path, "x", {.lock_wait = absl::Milliseconds(20)}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(LoadSnapshot(opts.path, s_).ok());

  // A restarted daemon loads what was saved.
  { Saver stopped = std::move(saver); }
  Saver again(opts, clock);
  auto loaded = again.Start(s_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded == b);
  ASSERT_TRUE(again.Save(*loaded).ok());
}

TEST_F(PersistTest, SaverRefusesAnUnreadableFileAndNeverOverwritesIt) {
  ManualTimeSource clock(testutil::kT0);
  SaverOptions opts;
  opts.path = Path("daemon.twb");
  std::string bytes = EncodeSnapshot(testutil::Synthetic(s_, 50));
  bytes[bytes.size() - 3] ^= 0x40;
  WriteFile(opts.path, bytes);

  Saver saver(opts, clock);
  auto started = saver.Start(s_);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(started.status().message()), HasSubstr(opts.path));
  EXPECT_THAT(std::string(started.status().message()), HasSubstr("will not overwrite it"));
  // Save after a failed start refuses, and the file is untouched.
  EXPECT_EQ(saver.Save(Baseline(s_)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(opts.path), bytes);

  // Told to, the saver moves it aside (never deletes it) and starts empty.
  opts.move_aside_unreadable = true;
  Saver reset(opts, clock);
  auto fresh = reset.Start(s_);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->empty());
  EXPECT_EQ(reset.moved_aside(),
            opts.path + ".unreadable-" + std::to_string(absl::ToUnixSeconds(testutil::kT0)));
  EXPECT_EQ(ReadFile(reset.moved_aside()), bytes);
  EXPECT_FALSE(std::filesystem::exists(opts.path));
  ASSERT_TRUE(reset.Save(*fresh).ok());
}

TEST_F(PersistTest, MovingAsideTwiceInOneSecondKeepsBothFiles) {
  const std::string p = Path("daemon.twb");
  WriteFile(p, "first bad");
  auto a = MoveUnreadableAside(p, testutil::kT0);
  ASSERT_TRUE(a.ok()) << a.status();
  WriteFile(p, "second bad");
  auto b = MoveUnreadableAside(p, testutil::kT0);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*b, *a + "-1");
  EXPECT_EQ(ReadFile(*a), "first bad");
  EXPECT_EQ(ReadFile(*b), "second bad");
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST_F(PersistTest, SaverWillNotReplaceAForeignFilePutThereLater) {
  ManualTimeSource clock(testutil::kT0);
  SaverOptions opts;
  opts.path = Path("daemon.twb");
  Saver saver(opts, clock);
  auto b = saver.Start(s_);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(saver.Save(*b).ok());
  WriteFile(opts.path, "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\n");
  auto st = saver.Save(*b);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()), HasSubstr("refusing to replace"));
  EXPECT_EQ(ReadFile(opts.path), "apiVersion: tierwatch.io/v1\nkind: TierwatchBaseline\n");
}

}  // namespace
}  // namespace tw::baseline
