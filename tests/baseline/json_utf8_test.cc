// A snapshot is checksummed, not validated as text: a flipped bit in a name still loads
// (issue 12: 33 of 300 mutated snapshots with valid checksums aborted `-o json`). The JSON
// document and diff renderers print such names with U+FFFD and never throw.
#include <string>

#include "baseline/document.h"
#include "baseline/persist.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test_util.h"

namespace tw::baseline {
namespace {

using testutil::Key;
using testutil::kT0;

TEST(BaselineJsonUtf8Test, MutatedSnapshotNameExportsAsValidJson) {
  flow::SymbolTable s;
  Baseline b(s);
  b.Record(Key(s, "shop", "web", "shop", "db", 5432), kT0, s.Intern("node-a"),
           flow::Verdict::kForwarded);
  std::string bytes = EncodeSnapshot(b);
  // Mutate "web" into "we\xff" and fix the checksums, as a bit flip the CRC happens to miss.
  size_t at = bytes.find("web", kSnapshotHeaderSize);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = '\xff';
  flow::SymbolTable s2;
  std::string payload = bytes.substr(kSnapshotHeaderSize);
  std::string header = bytes.substr(0, 16);
  uint32_t crc = Crc32(payload);
  for (int i = 0; i < 4; ++i) header.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  uint32_t hcrc = Crc32(header);
  for (int i = 0; i < 4; ++i) header.push_back(static_cast<char>((hcrc >> (8 * i)) & 0xff));
  auto loaded = DecodeSnapshot(header + payload, "mutated.twb", s2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  std::string json;
  ASSERT_NO_THROW(json = ExportBaselineDocument(*loaded, DocumentFormat::kJson));
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << json;
  EXPECT_NE(json.find("we\xef\xbf\xbd"), std::string::npos) << json;
}

}  // namespace
}  // namespace tw::baseline
