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

namespace symbol_internal {
// An interned string with its content hash, computed once: hashing a Symbol (four of them
// in every connection key the baseline, classifier and metrics look up) costs one word,
// not a pass over the string. Content-based, so equal symbols of different tables agree.
struct Interned {
  explicit Interned(absl::string_view v) : s(v), hash(absl::Hash<absl::string_view>{}(v)) {}
  std::string s;
  size_t hash;
};
}  // namespace symbol_internal

class Symbol {
 public:
  Symbol() : s_(&Empty()) {}
  absl::string_view view() const { return s_->s; }
  const std::string& str() const { return s_->s; }
  bool empty() const { return s_->s.empty(); }

  friend bool operator==(Symbol a, Symbol b) {
    return a.s_ == b.s_ || (a.s_->hash == b.s_->hash && a.s_->s == b.s_->s);
  }
  friend bool operator!=(Symbol a, Symbol b) { return !(a == b); }
  friend bool operator<(Symbol a, Symbol b) { return a.s_ != b.s_ && a.s_->s < b.s_->s; }
  friend bool operator==(Symbol a, absl::string_view b) { return a.view() == b; }
  friend bool operator!=(Symbol a, absl::string_view b) { return a.view() != b; }
  template <typename H>
  friend H AbslHashValue(H h, Symbol s) {
    return H::combine(std::move(h), s.s_->hash);
  }
  friend std::ostream& operator<<(std::ostream& os, Symbol s) { return os << s.view(); }

 private:
  friend class SymbolTable;
  explicit Symbol(const symbol_internal::Interned* s) : s_(s) {}
  static const symbol_internal::Interned& Empty() {
    static const symbol_internal::Interned* const kEmpty = new symbol_internal::Interned("");
    return *kEmpty;
  }
  const symbol_internal::Interned* s_;
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
  struct ByContent {
    using is_transparent = void;
    size_t operator()(absl::string_view v) const { return absl::Hash<absl::string_view>{}(v); }
    size_t operator()(const symbol_internal::Interned& i) const { return i.hash; }
    bool operator()(const symbol_internal::Interned& a, const symbol_internal::Interned& b) const {
      return a.s == b.s;
    }
    bool operator()(const symbol_internal::Interned& a, absl::string_view b) const {
      return a.s == b;
    }
  };
  // node_hash_set: element addresses are stable across rehashing.
  absl::node_hash_set<symbol_internal::Interned, ByContent, ByContent> strings_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace tw::flow
