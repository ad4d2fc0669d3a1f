// Fuzzes the baseline loaders (baseline/persist.h, baseline/document.h). The first byte picks
// what the rest is:
//   'R'  raw snapshot file bytes (header, checksums and all);
//   'D'  an exported baseline document (YAML or JSON);
//   else a snapshot *payload*: the target writes a valid header and checksums around it, so
//        the fuzzer explores the payload decoder instead of guessing CRC-32s (version = the
//        first byte's low bit + 1).
// A baseline that loads must export (YAML and JSON) without throwing and re-encode to a
// snapshot that decodes again.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "baseline/document.h"
#include "baseline/persist.h"

namespace {

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string WithHeader(absl::string_view payload, uint16_t version) {
  std::string out(tw::baseline::kSnapshotMagic);
  PutLE(&out, version, 2);
  PutLE(&out, payload.size(), 8);
  PutLE(&out, tw::baseline::Crc32(payload), 4);
  PutLE(&out, tw::baseline::Crc32(out), 4);
  out.append(payload.data(), payload.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  tw::flow::SymbolTable symbols;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<tw::baseline::Baseline> b = absl::UnknownError("unset");
  if (data[0] == 'R') {
    b = tw::baseline::DecodeSnapshot(rest, "fuzz.twb", symbols);
  } else if (data[0] == 'D') {
    b = tw::baseline::ParseBaselineDocument(rest, "fuzz.yaml", symbols);
  } else {
    b = tw::baseline::DecodeSnapshot(WithHeader(rest, (data[0] & 1) + 1), "fuzz.twb", symbols);
  }
  if (!b.ok()) return 0;
  (void)tw::baseline::ExportBaselineDocument(*b, tw::baseline::DocumentFormat::kYaml);
  (void)tw::baseline::ExportBaselineDocument(*b, tw::baseline::DocumentFormat::kJson);
  const std::string again = tw::baseline::EncodeSnapshot(*b);
  tw::flow::SymbolTable symbols2;
  auto b2 = tw::baseline::DecodeSnapshot(again, "again.twb", symbols2);
  if (!b2.ok()) {
    std::fprintf(stderr, "re-encoded snapshot does not decode: %s\n",
                 b2.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
