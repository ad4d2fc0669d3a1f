// The benchmarks' inputs: files of the source tree and the example's captures as events.
//
//   tw::flow::SymbolTable symbols;
//   auto events = tw::bench::ReadEvents(tw::bench::Src("examples/zero-trust-rollout/after.jsonl"),
//                                       symbols);
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "flow/json.h"

namespace tw::bench {

// A path under the source tree.
inline std::string Src(const std::string& rel) {
  return std::string(TIERWATCH_SOURCE_DIR) + "/" + rel;
}

// Every event of a jsonpb capture; lines that do not decode are skipped (the inputs are the
// project's own examples).
inline std::vector<flow::Event> ReadEvents(const std::string& path, flow::SymbolTable& symbols) {
  std::vector<flow::Event> out;
  std::ifstream in(path);
  flow::JsonDecoder decoder(symbols);
  std::string line;
  while (std::getline(in, line)) {
    auto ev = decoder.Decode(line);
    if (ev.ok()) out.push_back(*std::move(ev));
  }
  return out;
}

}  // namespace tw::bench
