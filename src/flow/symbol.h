// Interned strings for the values that repeat across millions of flows: label strings,
// namespaces, workload and node names. A Symbol is a pointer to a string owned by a
// SymbolTable; copying one is free and equal symbols from the same table compare by
// pointer. Symbols from different tables still compare correctly (by content).
//
//   tw::flow::SymbolTable symbols;
//   Symbol ns = symbols.Intern("kube-system");
//   ns.view() == "kube-system";
//
// The table only grows; it is owned by the composition root (or a test) and must outlive
// every Flow that refers to it. It is thread-safe.
#pragma once

#include <ostream>
#include <string>

#include "absl/container/node_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tw::flow {

class Symbol {
 public:
  Symbol() : s_(&Empty()) {}
  absl::string_view view() const { return *s_; }
  const std::string& str() const { return *s_; }
  bool empty() const { return s_->empty(); }

  friend bool operator==(Symbol a, Symbol b) { return a.s_ == b.s_ || *a.s_ == *b.s_; }
  friend bool operator!=(Symbol a, Symbol b) { return !(a == b); }
  friend bool operator<(Symbol a, Symbol b) { return a.s_ != b.s_ && *a.s_ < *b.s_; }
  friend bool operator==(Symbol a, absl::string_view b) { return a.view() == b; }
  friend bool operator!=(Symbol a, absl::string_view b) { return a.view() != b; }
  template <typename H>
  friend H AbslHashValue(H h, Symbol s) {
    return H::combine(std::move(h), s.view());
  }
  friend std::ostream& operator<<(std::ostream& os, Symbol s) { return os << s.view(); }

 private:
  friend class SymbolTable;
  explicit Symbol(const std::string* s) : s_(s) {}
  static const std::string& Empty() {
    static const std::string* const kEmpty = new std::string();
    return *kEmpty;
  }
  const std::string* s_;
};

class SymbolTable {
 public:
  SymbolTable() = default;
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;

  Symbol Intern(absl::string_view s) {
    if (s.empty()) return Symbol();
    absl::MutexLock lock(&mu_);
    auto it = strings_.find(s);
    if (it == strings_.end()) it = strings_.emplace(s).first;
    return Symbol(&*it);
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return strings_.size();
  }

 private:
  mutable absl::Mutex mu_;
  // node_hash_set: element addresses are stable across rehashing.
  absl::node_hash_set<std::string> strings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tw::flow
