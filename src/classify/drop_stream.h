// DropStream: turns a stream of flows into a stream of counted, classified drops — each
// denied packet exactly once.
//
// Hubble reports a policy-denied packet twice: a policy-verdict event (type 5, verdict
// DROPPED, with the policy match information) and a drop event (type 1, with the drop
// reason). The datapath emits the verdict first, so the stream holds each candidate for a
// short window of flow time (default 1s) to find its twin on the same node with the same
// 5-tuple, in either order. The counted drop is the drop event, enriched with the twin's
// policy_match_type and *_denied_by; a policy verdict without a drop event (its drop
// event was filtered or lost) counts on its own. AUDIT verdicts (type 5) and L7 drops
// (type 129) have no twin and count as they come.
//
// Output keeps input order (a merged pair takes the place of its first event), so `analyze
// -o json` lists drops as the capture has them. Time advances with the flows: a held drop
// is released once the latest flow is more than the window away from it, either way (a
// second capture file may start earlier). A live caller with a quiet stream calls
// AdvanceTo(clock) or Flush() now and then, and Flush() at the end.
//
//   tw::classify::DropStream stream(classifier, {}, [&](tw::classify::Classification&& c) {
//     aggregator.Add(c);
//   });
//   for (const Flow& f : flows) stream.OnFlow(f);   // every flow: drops and the rest
//   stream.Flush();
//
// Not thread-safe: one owner (the pipeline worker) drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "classify/classifier.h"
#include "common/slot_ring.h"
#include "flow/flow.h"

namespace tw::classify {

struct DropStreamOptions {
  // How far apart (in flow time, either order) a drop event and its policy-verdict twin
  // may be.
  absl::Duration twin_window = absl::Seconds(1);
  // Most drops held while waiting for a twin; beyond it the oldest are released early.
  size_t max_pending = 100000;
  // Fill Classification::reasoning for every drop (for `analyze --explain`).
  bool explain = false;
};

struct DropStreamStats {
  uint64_t flows = 0;           // flows offered
  uint64_t candidates = 0;      // DROPPED and AUDIT flows
  uint64_t counted = 0;         // classified drops emitted
  uint64_t twins = 0;           // policy-verdict twins folded into their drop event
  uint64_t verdicts_alone = 0;  // type-5 DROPPED counted without a drop event
  uint64_t audit = 0;           // AUDIT verdicts counted
  uint64_t l7 = 0;              // L7 drops counted
  uint64_t released_early = 0;  // released before their window because max_pending was hit
};

class DropStream {
 public:
  using Callback = std::function<void(Classification&&)>;

  DropStream(const DropClassifier& classifier, DropStreamOptions options, Callback on_drop);

  // Every flow in stream order (the classifier's Observe is the caller's job when the
  // classifier is shared; DropAnalyzer does both).
  void OnFlow(const flow::Flow& f);
  // Releases the drops whose twin window has passed at `now` (flow time).
  void AdvanceTo(absl::Time now);
  // Releases everything (end of input).
  void Flush();

  size_t pending() const { return pending_.size(); }
  // Slots held for pending drops (about 1 KB each plus their strings): grows to a burst's
  // worth, shrinks again once a period of 65,536 flows never needed an eighth of it.
  size_t capacity() const { return pending_.capacity(); }
  const DropStreamStats& stats() const { return stats_; }

 private:
  enum class Kind : uint8_t { kDropEvent, kVerdictEvent, kOther };
  struct Entry {
    flow::Flow flow;        // the counted event once matched (the drop event)
    std::string twin_uuid;  // the folded policy-verdict event's (valid when `matched`)
    Kind kind = Kind::kOther;
    bool matched = false;
    int64_t time_ns = 0;
    std::string key;  // flow::PacketKey: the twin's key ("" for kOther)
  };

  // Finds the closest unmatched entry of `want` kind with `key` within the window.
  Entry* FindTwin(const std::string& key, Kind want, const flow::Flow& f);
  void Unindex(uint64_t seq, const std::string& key);
  Entry& NewEntry();  // the next held entry's slot
  void ReleaseFront();
  void Release(bool all);

  const DropClassifier& classifier_;
  DropStreamOptions options_;
  Callback on_drop_;
  // The held entries, oldest first; slots are reused, so holding a window's worth of drops
  // allocates nothing per flow once the ring has grown (common/slot_ring.h).
  SlotRing<Entry> pending_;
  flow::Flow scratch_;      // a reused Flow for swapping a verdict out of its slot
  uint64_t front_seq_ = 0;  // sequence number of the oldest held entry
  absl::flat_hash_map<std::string, std::vector<uint64_t>> unmatched_;  // key -> seqs
  // Time of the latest flow (or AdvanceTo). Not the maximum: captures of several nodes read
  // one after another start over in time, and a twin is always close to its drop in the
  // input, so an entry is done once the latest flow is further than the window either way.
  int64_t latest_ns_ = 0;
  bool have_latest_ = false;
  DropStreamStats stats_;
};

}  // namespace tw::classify
