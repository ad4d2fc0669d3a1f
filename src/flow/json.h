// jsonpb <-> flow::Event: the capture format (`hubble observe -o jsonpb`).
//
// Decoding uses simdjson's on-demand API straight into flow::Event (protobuf's own JSON
// parser is ~14k flows/s here; this path is ~100x faster). It accepts:
//   - GetFlowsResponse lines: {"flow":{...},"node_name":"...","time":"..."},
//     {"lost_events":{...}}, {"node_status":{...}}
//   - bare Flow objects, one per line (legacy `hubble observe -o json`)
//   - proto field names and the lowerCamel names protobuf's parser also accepts
//     ("destination_names" or "destinationNames", "is_reply" or "isReply"), enums by name or
//     number, 64-bit integers as strings or numbers; unknown fields are ignored; the
//     deprecated `reply` is honoured where `is_reply` is absent.
//
//   tw::flow::SymbolTable symbols;
//   tw::flow::JsonDecoder decoder(symbols);
//   absl::StatusOr<Event> ev = decoder.Decode(line);   // error text says what was expected
//
//   std::string out = tw::flow::EventToJson(*ev);      // one jsonpb line, no newline
//
// EventToJson writes proto field names as Hubble does; re-decoding its output yields an
// equal Event (tests/flow/json_roundtrip_test.cc).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "flow/flow.h"

namespace tw::flow {

class JsonDecoder {
 public:
  explicit JsonDecoder(SymbolTable& symbols);
  ~JsonDecoder();
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  // Decodes one line. Errors are InvalidArgument with a message naming the field and what
  // was expected (the caller adds file:line).
  absl::StatusOr<Event> Decode(absl::string_view line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One jsonpb line (GetFlowsResponse form) for an event; no trailing newline.
std::string EventToJson(const Event& event);

}  // namespace tw::flow
