// Fuzzes the jsonpb line reader (flow/json.h): any line is decoded or refused with a Status,
// and a decoded event re-encodes to a line that decodes again (the writer's promise).
#include <cstdio>
#include <cstdlib>

#include "flow/json.h"
#include "flow/symbol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tw::flow::SymbolTable* symbols = new tw::flow::SymbolTable();
  static tw::flow::JsonDecoder* decoder = new tw::flow::JsonDecoder(*symbols);
  absl::string_view line(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<tw::flow::Event> ev = decoder->Decode(line);
  if (!ev.ok()) return 0;
  const std::string out = tw::flow::EventToJson(*ev);
  absl::StatusOr<tw::flow::Event> again = decoder->Decode(out);
  if (!again.ok()) {
    std::fprintf(stderr, "re-decoding EventToJson output failed: %s\n%s\n",
                 again.status().ToString().c_str(), out.c_str());
    std::abort();
  }
  return 0;
}
