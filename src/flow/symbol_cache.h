// SymbolCache: a per-thread, lock-free front of a SymbolTable for stream decoders.
//
//   tw::flow::SymbolCache cache(symbols);
//   tw::flow::Symbol ns = cache.Intern("kube-system");   // no lock once seen
#pragma once

#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "flow/symbol.h"

namespace tw::flow {

// A lock-free front of a SymbolTable for one thread: strings seen before are found
// without the table's mutex. A stream decoder interns some fifteen strings per flow, almost
// all of them seen before (namespaces, labels, node names); one cache per decoding thread.
//
//   tw::flow::SymbolCache cache(symbols);         // not thread-safe: one per thread
//   tw::flow::Symbol s = cache.Intern("kube-system");
class SymbolCache {
 public:
  explicit SymbolCache(SymbolTable& table) : table_(table) {}
  SymbolCache(const SymbolCache&) = delete;
  SymbolCache& operator=(const SymbolCache&) = delete;

  Symbol Intern(absl::string_view s) {
    if (s.empty()) return Symbol();
    auto it = front_.find(s);
    if (it != front_.end()) return it->second;
    if (front_.size() >= kMaxEntries) front_.clear();  // bounds the cache, not the table
    Symbol sym = table_.Intern(s);
    front_.emplace(sym.view(), sym);  // keys view the table's own, stable strings
    return sym;
  }
  SymbolTable& table() const { return table_; }

 private:
  static constexpr size_t kMaxEntries = size_t{1} << 18;
  SymbolTable& table_;
  absl::flat_hash_map<absl::string_view, Symbol> front_;
};

}  // namespace tw::flow
