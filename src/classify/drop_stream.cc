#include "classify/drop_stream.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/check.h"

namespace tw::classify {

using flow::Flow;

DropStream::DropStream(const DropClassifier& classifier, DropStreamOptions options,
                       Callback on_drop)
    : classifier_(classifier), options_(options), on_drop_(std::move(on_drop)) {
  if (options_.max_pending == 0) options_.max_pending = 1;
}

DropStream::Entry* DropStream::FindTwin(const std::string& key, Kind want, const Flow& f) {
  auto it = unmatched_.find(key);
  if (it == unmatched_.end()) return nullptr;
  const int64_t t = absl::ToUnixNanos(f.time);
  const int64_t window = absl::ToInt64Nanoseconds(options_.twin_window);
  Entry* best = nullptr;
  uint64_t best_seq = 0;
  int64_t best_dt = 0;
  for (uint64_t seq : it->second) {
    // The index holds only entries still pending: their sequence numbers are in the window.
    TW_CHECK(seq >= front_seq_ && seq - front_seq_ < pending_.size(), "twin index entry ", seq,
             " outside pending [", front_seq_, ", ", front_seq_ + pending_.size(), ")");
    Entry& e = pending_[seq - front_seq_];
    if (e.kind != want || e.matched) continue;
    // Both directions known and different: not the same packet's twin.
    if (e.flow.traffic_direction != flow::TrafficDirection::kUnknown &&
        f.traffic_direction != flow::TrafficDirection::kUnknown &&
        e.flow.traffic_direction != f.traffic_direction) {
      continue;
    }
    int64_t dt = std::llabs(e.time_ns - t);
    if (dt > window) continue;
    if (best == nullptr || dt < best_dt) {
      best = &e;
      best_seq = seq;
      best_dt = dt;
    }
  }
  if (best != nullptr) Unindex(best_seq, key);
  return best;
}

void DropStream::Unindex(uint64_t seq, const std::string& key) {
  auto it = unmatched_.find(key);
  if (it == unmatched_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), seq), v.end());
  if (v.empty()) unmatched_.erase(it);
}

namespace {

// The drop event keeps its own fields; the verdict event adds what only it carries.
void Enrich(Flow& drop, const Flow& verdict) {
  if (drop.policy_match_type == 0) drop.policy_match_type = verdict.policy_match_type;
  if (drop.egress_denied_by.empty()) drop.egress_denied_by = verdict.egress_denied_by;
  if (drop.ingress_denied_by.empty()) drop.ingress_denied_by = verdict.ingress_denied_by;
  if (drop.egress_allowed_by.empty()) drop.egress_allowed_by = verdict.egress_allowed_by;
  if (drop.ingress_allowed_by.empty()) drop.ingress_allowed_by = verdict.ingress_allowed_by;
  if (drop.policy_log.empty()) drop.policy_log = verdict.policy_log;
  if (drop.traffic_direction == flow::TrafficDirection::kUnknown) {
    drop.traffic_direction = verdict.traffic_direction;
  }
  if (!drop.is_reply.has_value()) drop.is_reply = verdict.is_reply;
  if (drop.drop_reason_desc == 0 && drop.drop_reason == 0) {
    drop.drop_reason_desc = verdict.drop_reason_desc;
  }
}

}  // namespace

void DropStream::OnFlow(const Flow& f) {
  ++stats_.flows;
  const int64_t t = absl::ToUnixNanos(f.time);
  latest_ns_ = t;
  have_latest_ = true;
  pending_.Maintain();  // may move slots: no reference into it is held here
  if (IsClassifiable(f)) {
    ++stats_.candidates;
    Kind kind = Kind::kOther;
    if (f.verdict == flow::Verdict::kDropped && f.event_type == flow::kEventDrop) {
      kind = Kind::kDropEvent;
    } else if (f.verdict == flow::Verdict::kDropped && f.event_type == flow::kEventPolicyVerdict) {
      kind = Kind::kVerdictEvent;
    }
    if (kind != Kind::kOther) {
      std::string key = flow::PacketKey(f);  // the twin is the same packet
      Entry* twin =
          FindTwin(key, kind == Kind::kDropEvent ? Kind::kVerdictEvent : Kind::kDropEvent, f);
      if (twin != nullptr) {
        if (kind == Kind::kDropEvent) {
          // The verdict came first: the drop event becomes the counted one, in its place.
          std::swap(twin->flow, scratch_);  // scratch_: the verdict
          twin->flow = f;
          twin->twin_uuid = scratch_.uuid;
          Enrich(twin->flow, scratch_);
        } else {
          twin->twin_uuid = f.uuid;
          Enrich(twin->flow, f);
        }
        twin->matched = true;
        ++stats_.twins;
      } else {
        unmatched_[key].push_back(front_seq_ + pending_.size());
        Entry& e = NewEntry();
        e.flow = f;
        e.kind = kind;
        e.time_ns = t;
        e.key = std::move(key);
      }
    } else {
      Entry& e = NewEntry();
      e.flow = f;
      e.kind = kind;
      e.time_ns = t;
      e.key.clear();
    }
  }
  Release(false);
}

void DropStream::AdvanceTo(absl::Time now) {
  latest_ns_ = absl::ToUnixNanos(now);
  have_latest_ = true;
  Release(false);
}

void DropStream::Flush() { Release(true); }

DropStream::Entry& DropStream::NewEntry() {
  Entry& e = pending_.PushSlot();  // a reused slot: the caller sets flow, kind, time, key
  e.matched = false;
  e.twin_uuid.clear();
  return e;
}

void DropStream::ReleaseFront() {
  // The slot stays untouched until the next push, so `e` is read after PopFront.
  Entry& e = pending_.front();
  if (!e.matched && e.kind != Kind::kOther) Unindex(front_seq_, e.key);
  pending_.PopFront();
  ++front_seq_;

  std::optional<Classification> c = classifier_.Classify(e.flow, options_.explain);
  if (!c) return;
  // With explain, the classifier's reasoning opens with the connection line; the twin note
  // goes right after it.
  TW_CHECK(!options_.explain || !c->reasoning.empty(), "explained classification has no reasoning");
  if (e.matched) {
    c->twin_uuid = e.twin_uuid;
    if (options_.explain) {
      c->reasoning.insert(c->reasoning.begin() + 1,
                          absl::StrCat("counted once: policy-verdict event ", e.twin_uuid,
                                       " is this drop's twin (same node and 5-tuple)"));
    }
  } else if (e.kind == Kind::kVerdictEvent) {
    ++stats_.verdicts_alone;
    if (options_.explain) {
      c->reasoning.insert(c->reasoning.begin() + 1,
                          "counted on its own: no drop event matched this policy verdict");
    }
  }
  if (c->predicted) ++stats_.audit;
  if (e.flow.type == flow::FlowType::kL7 || e.flow.event_type == flow::kEventL7) ++stats_.l7;
  ++stats_.counted;
  on_drop_(std::move(*c));
}

void DropStream::Release(bool all) {
  const int64_t window = absl::ToInt64Nanoseconds(options_.twin_window);
  while (!pending_.empty()) {
    const Entry& front = pending_.front();
    bool ready = all || front.matched || front.kind == Kind::kOther ||
                 (have_latest_ &&
                  (latest_ns_ > front.time_ns + window || latest_ns_ < front.time_ns - window));
    if (!ready && pending_.size() > options_.max_pending) {
      ready = true;
      ++stats_.released_early;
    }
    if (!ready) break;
    ReleaseFront();
  }
}

}  // namespace tw::classify
