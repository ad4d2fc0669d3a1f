// Where tests find things: the shared reference corpus (../shared, absent in a user's
// clone: such tests skip, saying why), the source tree and the tierwatch binary.
//
//   std::string dir = tw::testing::SharedCorpusDir();
//   if (dir.empty()) GTEST_SKIP() << tw::testing::kNoSharedReason;
#pragma once

#include <filesystem>
#include <string>

namespace tw::testing {

inline constexpr const char* kNoSharedReason =
    "../shared/data/hubble-otel-flows is absent (as in a user's clone); this test reads the "
    "real Hubble corpus from there";

// The hubble-otel-flows corpus directory, or "" when absent.
inline std::string SharedCorpusDir() {
  std::filesystem::path p =
      std::filesystem::path(TIERWATCH_SHARED_DIR) / "data" / "hubble-otel-flows";
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p.string() : std::string();
}

inline std::string SharedDir() { return TIERWATCH_SHARED_DIR; }
inline std::string SourceDir() { return TIERWATCH_SOURCE_DIR; }
inline std::string TierwatchBin() { return TIERWATCH_BIN; }

}  // namespace tw::testing
