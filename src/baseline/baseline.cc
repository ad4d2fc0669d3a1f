#include "baseline/baseline.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace tw::baseline {

namespace {

struct Entry {
  flow::ConnectionKey key;
  int64_t first_ns;
  int64_t last_ns;
  uint64_t count;
  NodeSetId nodes;
  VerdictSet verdicts;
};

// A workload's labels: an interned label set and the identity they were last confirmed by
// (Hubble identities are label sets, so the same identity again teaches nothing).
struct WorkloadEntry {
  uint32_t labels = 0;
  uint32_t identity = 0;
};

// "k8s:app=x" -> "app"; "app=x" -> "app".
absl::string_view LabelKey(absl::string_view label) {
  size_t eq = label.find('=');
  absl::string_view head = label.substr(0, eq);
  size_t colon = head.find(':');
  if (colon != absl::string_view::npos) head.remove_prefix(colon + 1);
  return head;
}

bool SortedHas(absl::Span<const flow::Symbol> sorted, flow::Symbol s) {
  return std::binary_search(sorted.begin(), sorted.end(), s);
}

}  // namespace

bool IsPerPodLabel(absl::string_view label) {
  // Cilium's default label filter leaves these out of identities; a capture from an agent
  // with a custom filter may still carry them, and they change with every rollout or pod.
  static constexpr absl::string_view kPerPod[] = {
      "pod-template-hash",
      "controller-revision-hash",
      "pod-template-generation",
      "statefulset.kubernetes.io/pod-name",
      "apps.kubernetes.io/pod-index",
      "controller-uid",
      "batch.kubernetes.io/controller-uid",
  };
  absl::string_view key = LabelKey(label);
  for (absl::string_view k : kPerPod) {
    if (key == k) return true;
  }
  return false;
}

absl::string_view ServiceAccountOf(absl::Span<const flow::Symbol> labels) {
  for (flow::Symbol l : labels) {
    absl::string_view v = l.view();
    if (LabelKey(v) != "io.cilium.k8s.policy.serviceaccount") continue;
    size_t eq = v.find('=');
    return eq == absl::string_view::npos ? absl::string_view() : v.substr(eq + 1);
  }
  return {};
}

// Connections live densely in `entries` (insertion order); the hash set holds only 4-byte
// indexes into it and looks them up by key (transparent hashing). Compared with a
// flat_hash_map<ConnectionKey, Stats> this halves memory at a million connections: a map's
// slot array is sized by powers of two with its 88-byte slots, ours with 4-byte ones.
// Heap-allocated so that the hash functors' pointer to `entries` survives moves.
struct Baseline::Store {
  struct Hash {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    size_t operator()(uint32_t i) const {
      return absl::Hash<flow::ConnectionKey>{}((*entries)[i].key);
    }
    size_t operator()(const flow::ConnectionKey& k) const {
      return absl::Hash<flow::ConnectionKey>{}(k);
    }
  };
  struct Eq {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const flow::ConnectionKey& b) const {
      return (*entries)[a].key == b;
    }
    bool operator()(const flow::ConnectionKey& a, uint32_t b) const {
      return a == (*entries)[b].key;
    }
  };

  Store() : index(0, Hash{&entries}, Eq{&entries}) {
    node_sets.emplace_back();
    label_sets.emplace_back();
  }
  Store(const Store& o)
      : entries(o.entries),
        index(0, Hash{&entries}, Eq{&entries}),
        node_sets(o.node_sets),
        node_set_ids(o.node_set_ids),
        workloads(o.workloads),
        label_sets(o.label_sets),
        label_set_ids(o.label_set_ids),
        first_ns(o.first_ns),
        last_ns(o.last_ns) {
    index.reserve(entries.size());
    for (uint32_t i = 0; i < entries.size(); ++i) index.insert(i);
  }

  std::vector<Entry> entries;
  absl::flat_hash_set<uint32_t, Hash, Eq> index;
  // Node sets: id -> sorted names; id 0 is the empty set.
  std::vector<std::vector<flow::Symbol>> node_sets;
  absl::flat_hash_map<std::vector<flow::Symbol>, NodeSetId> node_set_ids;
  // Workload labels: peer -> interned label set (id 0 is the empty set).
  absl::flat_hash_map<flow::Peer, WorkloadEntry> workloads;
  std::vector<std::vector<flow::Symbol>> label_sets;
  absl::flat_hash_map<std::vector<flow::Symbol>, uint32_t> label_set_ids;
  int64_t first_ns = std::numeric_limits<int64_t>::max();
  int64_t last_ns = std::numeric_limits<int64_t>::min();

  const Entry* Find(const flow::ConnectionKey& key) const {
    auto it = index.find(key);
    return it == index.end() ? nullptr : &entries[*it];
  }

  // `labels` sorted and unique.
  uint32_t InternLabels(std::vector<flow::Symbol> labels) {
    if (labels.empty()) return 0;
    auto it = label_set_ids.find(labels);
    if (it != label_set_ids.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(label_sets.size());
    label_sets.push_back(labels);
    label_set_ids.emplace(std::move(labels), id);
    return id;
  }

  // Keeps in the workload's set only what `labels` (sorted) also has.
  void Narrow(WorkloadEntry& w, absl::Span<const flow::Symbol> labels) {
    const std::vector<flow::Symbol>& have = label_sets[w.labels];
    std::vector<flow::Symbol> both;
    both.reserve(have.size());
    for (flow::Symbol l : have) {
      if (SortedHas(labels, l)) both.push_back(l);
    }
    if (both.size() != have.size()) w.labels = InternLabels(std::move(both));
  }
};

namespace {
// Sorted, unique, without per-pod labels and empty symbols.
std::vector<flow::Symbol> CleanLabels(std::vector<flow::Symbol> labels) {
  labels.erase(std::remove_if(labels.begin(), labels.end(),
                              [](flow::Symbol s) { return s.empty() || IsPerPodLabel(s.view()); }),
               labels.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}
}  // namespace

std::vector<absl::string_view> VerdictNames(VerdictSet set) {
  std::vector<absl::string_view> out;
  for (unsigned v = 0; v < 16; ++v) {
    if (set & (1u << v)) out.push_back(flow::VerdictName(static_cast<flow::Verdict>(v)));
  }
  return out;
}

Baseline::Baseline(flow::SymbolTable& symbols)
    : symbols_(&symbols), store_(std::make_unique<Store>()) {}
Baseline::~Baseline() = default;
Baseline::Baseline(const Baseline& o)
    : symbols_(o.symbols_),
      store_(std::make_unique<Store>(*o.store_)),
      server_ports_(o.server_ports_),
      source_(o.source_) {}
Baseline& Baseline::operator=(const Baseline& o) {
  if (this != &o) {
    symbols_ = o.symbols_;
    store_ = std::make_unique<Store>(*o.store_);
    server_ports_ = o.server_ports_;
    source_ = o.source_;
  }
  return *this;
}
Baseline::Baseline(Baseline&& o) noexcept = default;
Baseline& Baseline::operator=(Baseline&& o) noexcept = default;

NodeSetId Baseline::InternNodes(std::vector<flow::Symbol> nodes) {
  nodes.erase(std::remove_if(nodes.begin(), nodes.end(), [](flow::Symbol s) { return s.empty(); }),
              nodes.end());
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  if (nodes.empty()) return 0;
  auto it = store_->node_set_ids.find(nodes);
  if (it != store_->node_set_ids.end()) return it->second;
  NodeSetId id = static_cast<NodeSetId>(store_->node_sets.size());
  store_->node_sets.push_back(nodes);
  store_->node_set_ids.emplace(std::move(nodes), id);
  return id;
}

absl::Span<const flow::Symbol> Baseline::Nodes(NodeSetId id) const {
  if (id >= store_->node_sets.size()) return {};
  return store_->node_sets[id];
}

size_t Baseline::node_set_count() const { return store_->node_sets.size(); }

bool Baseline::Record(const flow::ConnectionKey& key, absl::Time at, flow::Symbol node,
                      flow::Verdict verdict) {
  Store& s = *store_;
  int64_t t = absl::ToUnixNanos(at);
  s.first_ns = std::min(s.first_ns, t);
  s.last_ns = std::max(s.last_ns, t);
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    Entry& e = s.entries[*it];
    e.first_ns = std::min(e.first_ns, t);
    e.last_ns = std::max(e.last_ns, t);
    ++e.count;
    e.verdicts |= VerdictBit(verdict);
    if (!node.empty()) {
      const auto& set = s.node_sets[e.nodes];
      if (std::find(set.begin(), set.end(), node) == set.end()) {
        std::vector<flow::Symbol> grown = set;
        grown.push_back(node);
        e.nodes = InternNodes(std::move(grown));
      }
    }
    return false;
  }
  NodeSetId nodes = node.empty() ? 0 : InternNodes({node});
  uint32_t idx = static_cast<uint32_t>(s.entries.size());
  s.entries.push_back(Entry{key, t, t, 1, nodes, VerdictBit(verdict)});
  s.index.insert(idx);
  server_ports_.Add(key);
  return true;
}

bool Baseline::Insert(const flow::ConnectionKey& key, const ConnectionStats& stats) {
  Store& s = *store_;
  int64_t first = absl::ToUnixNanos(stats.first_seen);
  int64_t last = std::max(first, absl::ToUnixNanos(stats.last_seen));
  s.first_ns = std::min(s.first_ns, first);
  s.last_ns = std::max(s.last_ns, last);
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    Entry& e = s.entries[*it];
    e.first_ns = std::min(e.first_ns, first);
    e.last_ns = std::max(e.last_ns, last);
    e.count += stats.count;
    e.verdicts |= stats.verdicts;
    std::vector<flow::Symbol> merged = s.node_sets[e.nodes];
    merged.insert(merged.end(), stats.nodes.begin(), stats.nodes.end());
    e.nodes = InternNodes(std::move(merged));
    return false;
  }
  NodeSetId nodes = InternNodes(stats.nodes);
  uint32_t idx = static_cast<uint32_t>(s.entries.size());
  s.entries.push_back(Entry{key, first, last, stats.count, nodes, stats.verdicts});
  s.index.insert(idx);
  server_ports_.Add(key);
  return true;
}

bool Baseline::InsertInterned(const flow::ConnectionKey& key, absl::Time first_seen,
                              absl::Time last_seen, uint64_t count, NodeSetId nodes,
                              VerdictSet verdicts) {
  Store& s = *store_;
  if (nodes >= s.node_sets.size()) nodes = 0;
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    // A duplicate key in one snapshot: merge as Insert() does (rare, the slow path is fine).
    ConnectionStats st{first_seen, last_seen, count, {}, verdicts};
    st.nodes.assign(s.node_sets[nodes].begin(), s.node_sets[nodes].end());
    return Insert(key, st);
  }
  int64_t first = absl::ToUnixNanos(first_seen);
  int64_t last = std::max(first, absl::ToUnixNanos(last_seen));
  s.first_ns = std::min(s.first_ns, first);
  s.last_ns = std::max(s.last_ns, last);
  uint32_t idx = static_cast<uint32_t>(s.entries.size());
  s.entries.push_back(Entry{key, first, last, count, nodes, verdicts});
  s.index.insert(idx);
  server_ports_.Add(key);
  return true;
}

void Baseline::Reserve(size_t connections) {
  store_->entries.reserve(connections);
  store_->index.reserve(connections);
}

void Baseline::ObserveLabels(const flow::Peer& peer, const flow::Endpoint& endpoint) {
  if (!peer.is_workload() || endpoint.labels.empty()) return;
  // A pod the flow reports with a reserved identity (Cilium 1.10 L7 flows give the peer the
  // world identity) carries that identity's labels, not the pod's: they say nothing of it.
  if (endpoint.IsReserved()) return;
  Store& s = *store_;
  auto [it, inserted] = s.workloads.try_emplace(peer);
  WorkloadEntry& w = it->second;
  if (!inserted) {
    if (endpoint.identity != 0 && endpoint.identity == w.identity) return;
    // Usually another pod of the same workload carries every label already kept: check
    // without allocating.
    const std::vector<flow::Symbol>& have = s.label_sets[w.labels];
    bool covered = std::all_of(have.begin(), have.end(), [&](flow::Symbol l) {
      return std::find(endpoint.labels.begin(), endpoint.labels.end(), l) != endpoint.labels.end();
    });
    w.identity = endpoint.identity;
    if (covered) return;
    s.Narrow(w, CleanLabels(endpoint.labels));
    return;
  }
  w.identity = endpoint.identity;
  w.labels = s.InternLabels(CleanLabels(endpoint.labels));
}

void Baseline::SetLabels(const flow::Peer& peer, std::vector<flow::Symbol> labels) {
  if (!peer.is_workload()) return;
  WorkloadEntry& w = store_->workloads[peer];
  w.identity = 0;
  w.labels = store_->InternLabels(CleanLabels(std::move(labels)));
}

std::optional<absl::Span<const flow::Symbol>> Baseline::Labels(const flow::Peer& peer) const {
  auto it = store_->workloads.find(peer);
  if (it == store_->workloads.end()) return std::nullopt;
  return absl::Span<const flow::Symbol>(store_->label_sets[it->second.labels]);
}

std::vector<std::pair<flow::Peer, absl::Span<const flow::Symbol>>> Baseline::LabelledWorkloads()
    const {
  std::vector<std::pair<flow::Peer, absl::Span<const flow::Symbol>>> out;
  out.reserve(store_->workloads.size());
  for (const auto& [peer, w] : store_->workloads) {
    out.emplace_back(peer, absl::Span<const flow::Symbol>(store_->label_sets[w.labels]));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

size_t Baseline::labelled_workloads() const { return store_->workloads.size(); }

void Baseline::Merge(const Baseline& other) {
  for (const auto& [peer, w] : other.store_->workloads) {
    const std::vector<flow::Symbol>& labels = other.store_->label_sets[w.labels];
    auto it = store_->workloads.find(peer);
    if (it == store_->workloads.end()) {
      store_->workloads[peer] = WorkloadEntry{store_->InternLabels(labels), 0};
    } else {
      store_->Narrow(it->second, labels);
      it->second.identity = 0;
    }
  }
  other.ForEach([this](const ConnectionRecord& r) {
    ConnectionStats st;
    st.first_seen = r.first_seen;
    st.last_seen = r.last_seen;
    st.count = r.count;
    st.nodes.assign(r.nodes.begin(), r.nodes.end());
    st.verdicts = r.verdicts;
    Insert(r.key, st);
  });
}

size_t Baseline::size() const { return store_->entries.size(); }

bool Baseline::Contains(const flow::ConnectionKey& key) const {
  return store_->Find(key) != nullptr;
}

namespace {
ConnectionRecord ToRecord(const Entry& e, absl::Span<const flow::Symbol> nodes) {
  ConnectionRecord r;
  r.key = e.key;
  r.first_seen = absl::FromUnixNanos(e.first_ns);
  r.last_seen = absl::FromUnixNanos(e.last_ns);
  r.count = e.count;
  r.nodes = nodes;
  r.verdicts = e.verdicts;
  r.node_set = e.nodes;
  return r;
}
}  // namespace

std::optional<ConnectionRecord> Baseline::Find(const flow::ConnectionKey& key) const {
  const Entry* e = store_->Find(key);
  if (e == nullptr) return std::nullopt;
  return ToRecord(*e, Nodes(e->nodes));
}

void Baseline::ForEach(const std::function<void(const ConnectionRecord&)>& fn) const {
  for (const Entry& e : store_->entries) fn(ToRecord(e, Nodes(e.nodes)));
}

std::vector<ConnectionRecord> Baseline::Sorted() const {
  std::vector<ConnectionRecord> out;
  out.reserve(size());
  ForEach([&out](const ConnectionRecord& r) { out.push_back(r); });
  std::sort(out.begin(), out.end(),
            [](const ConnectionRecord& a, const ConnectionRecord& b) { return a.key < b.key; });
  return out;
}

absl::Time Baseline::first_seen() const {
  return empty() ? absl::UnixEpoch() : absl::FromUnixNanos(store_->first_ns);
}
absl::Time Baseline::last_seen() const {
  return empty() ? absl::UnixEpoch() : absl::FromUnixNanos(store_->last_ns);
}

bool operator==(const Baseline& a, const Baseline& b) {
  if (a.size() != b.size() || a.source_ != b.source_) return false;
  if (a.labelled_workloads() != b.labelled_workloads()) return false;
  for (const auto& [peer, w] : a.store_->workloads) {
    auto other = b.Labels(peer);
    const std::vector<flow::Symbol>& mine = a.store_->label_sets[w.labels];
    if (!other || !std::equal(mine.begin(), mine.end(), other->begin(), other->end())) {
      return false;
    }
  }
  for (const Entry& e : a.store_->entries) {
    const Entry* o = b.store_->Find(e.key);
    if (o == nullptr || o->first_ns != e.first_ns || o->last_ns != e.last_ns ||
        o->count != e.count || o->verdicts != e.verdicts) {
      return false;
    }
    absl::Span<const flow::Symbol> na = a.Nodes(e.nodes), nb = b.Nodes(o->nodes);
    if (!std::equal(na.begin(), na.end(), nb.begin(), nb.end())) return false;
  }
  return true;
}

// --- Learner ----------------------------------------------------------------------------

Learner::Learner(Baseline& baseline, flow::DnsNameCache* dns, LearnOptions options)
    : baseline_(baseline), dns_(dns), options_(options) {}

LearnResult Learner::Observe(const flow::Event& event) {
  if (!event.flow.has_value()) {
    ++stats_.events;
    return LearnResult::kNotAFlow;
  }
  return Observe(*event.flow);
}

LearnResult Learner::Observe(const flow::Flow& f) {
  ++stats_.events;
  ++stats_.flows;
  // DNS answers come as replies, so learn them before replies are set aside.
  if (dns_ != nullptr && dns_->Observe(f)) ++stats_.dns_answers;
  if ((options_.verdicts & VerdictBit(f.verdict)) == 0 ||
      (f.verdict == flow::Verdict::kDropped && options_.only_policy_drops &&
       !f.IsPolicyVerdictDrop())) {
    ++stats_.skipped_verdict;
    return LearnResult::kSkippedVerdict;
  }
  flow::ReplyInfo reply;
  std::optional<flow::ConnectionKey> key = flow::ConnectionKeyOf(
      f, baseline_.symbols(), dns_, &baseline_.server_ports(), flow::ReplyHandling::kSkip, &reply);
  if (reply.state == flow::ReplyState::kReply) {
    ++stats_.replies;
    return LearnResult::kReply;
  }
  if (!key) {
    ++stats_.no_connection;
    return LearnResult::kNoConnection;
  }
  ++stats_.learned;
  baseline_.ObserveLabels(key->source, f.source);
  baseline_.ObserveLabels(key->destination, f.destination);
  if (baseline_.Record(*key, f.time, f.node_name, f.verdict)) {
    ++stats_.new_connections;
    return LearnResult::kNewConnection;
  }
  return LearnResult::kLearned;
}

}  // namespace tw::baseline
