// jsonpb <-> flow::Event: the capture format (`hubble observe -o jsonpb`).
//
// Decoding uses simdjson's on-demand API straight into flow::Event, roughly 25-30x faster
// than protobuf's JsonStringToMessage + EventFromProto on the real corpus
// (bench/capture_parse_bench.cc). It accepts:
//   - GetFlowsResponse lines: {"flow":{...},"node_name":"...","time":"..."},
//     {"lost_events":{...}}, {"node_status":{...}}
//   - bare Flow objects, one per line (legacy `hubble observe -o json`); the Event then
//     takes node_name and time from the flow
//   - proto field names and the lowerCamel names protobuf's parser also accepts
//     ("destination_names" or "destinationNames", "is_reply" or "isReply"), enums by name or
//     number, 64-bit integers as strings or numbers, RFC 3339 times with 0-9 fraction
//     digits and offsets; unknown fields are ignored; an unknown enum name leaves the field
//     at its default (as protobuf's parser with ignore_unknown_fields); the deprecated
//     `reply` is honoured where `is_reply` is absent.
// Decoded Events equal what protobuf's parser + EventFromProto give for the same line
// (tests/flow/json_differential_test.cc); json.cc lists the few inputs where this decoder
// is deliberately stricter. A line that is not one JSON object, or carries no event at all,
// is an error.
//
//   tw::flow::SymbolTable symbols;
//   tw::flow::JsonDecoder decoder(symbols);            // one per thread; reuse it
//   absl::StatusOr<Event> ev = decoder.Decode(line);   // "field flow.l4.TCP.source_port:
//                                                      //  expected ..., got string"
//   std::string out = tw::flow::EventToJson(*ev);      // one jsonpb line, no newline
//
// EventToJson writes Hubble's layout: proto field names in declaration order, defaults
// omitted, enums by name (numbers when unknown), 64-bit integers as strings, is_reply when
// known (even false) with the deprecated `reply` mirroring a true one, outer node_name and
// time. Re-decoding its output yields an equal Event (tests/flow/json_roundtrip_test.cc).
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

// Appends `s` as a JSON string as hubble's -o json writes strings (Go's json.Encoder over
// protojson): control characters escaped, <, > and & as \u003c \u003e \u0026, U+2028 and
// U+2029 escaped, invalid UTF-8 as \ufffd.
void AppendJsonString(absl::string_view s, std::string* out);

}  // namespace tw::flow
