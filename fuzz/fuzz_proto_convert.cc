// Fuzzes protobuf -> flow::Event conversion (flow/proto_convert.h), the relay path: a
// GetFlowsResponse as the relay sends it (binary; first byte 0) or as jsonpb text parsed by
// protobuf's own JSON parser (first byte != 0, so capture seeds reach deep fields), then
// back to protobuf and out as a jsonpb line.
#include <google/protobuf/util/json_util.h>

#include "flow/json.h"
#include "flow/proto_convert.h"
#include "flow/symbol.h"
#include "observer/observer.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tw::flow::SymbolTable* symbols = new tw::flow::SymbolTable();
  if (size == 0) return 0;
  ::observer::GetFlowsResponse pb;
  if (data[0] == 0) {
    if (!pb.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  } else {
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (!google::protobuf::util::JsonStringToMessage(text, &pb, opts).ok()) return 0;
  }
  tw::flow::Event ev = tw::flow::EventFromProto(pb, *symbols);
  ::observer::GetFlowsResponse back;
  tw::flow::EventToProto(ev, &back);
  (void)tw::flow::EventToJson(ev);
  return 0;
}
