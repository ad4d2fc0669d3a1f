#include "app/observer.h"

#include <algorithm>
#include <limits>

#include "absl/synchronization/notification.h"

namespace tw::app {

Observer::Observer(PipelineOptions options)
    : pipeline_(options), last_tick_ns_(std::numeric_limits<int64_t>::min()) {
  pipeline_.AddSink(&dispatch_);
}

Observer::~Observer() { Stop(); }

void Observer::AddHandler(FlowHandler* handler, Activity when) {
  handlers_.push_back(Entry{handler, when});
}

void Observer::RebuildActive() {
  active_.clear();
  for (const Entry& e : handlers_) {
    if (Active(e.when, worker_mode_)) active_.push_back(e.handler);
  }
}

void Observer::Start(config::Mode mode) {
  worker_mode_ = mode;
  mode_ = mode;
  RebuildActive();
  started_ = true;
  pipeline_.Start();
}

void Observer::Dispatch::OnEvent(const flow::Event& ev) {
  for (FlowHandler* h : o_.active_) h->OnEvent(ev);
}

void Observer::Tick(absl::Time now) {
  pipeline_.Post([this, now] {
    last_tick_ns_.store(absl::ToUnixNanos(now));
    // A tick may switch the mode (the controller is a handler), which rebuilds the list:
    // walk a copy, skipping handlers the switch made inactive; those that just became
    // active get their first tick next time.
    const std::vector<FlowHandler*> ticking = active_;
    for (FlowHandler* h : ticking) {
      if (std::find(active_.begin(), active_.end(), h) != active_.end()) h->OnTick(now);
    }
  });
}

bool Observer::Sync() {
  absl::Notification done;
  if (!pipeline_.Post([&done] { done.Notify(); })) return false;
  done.WaitForNotification();
  return true;
}

void Observer::SetMode(config::Mode mode) {
  if (mode == worker_mode_) return;
  // Whoever stops seeing events releases what it holds first.
  for (const Entry& e : handlers_) {
    if (Active(e.when, worker_mode_) && !Active(e.when, mode)) e.handler->Flush();
  }
  worker_mode_ = mode;
  mode_ = mode;
  RebuildActive();
}

absl::Time Observer::last_tick() const {
  int64_t ns = last_tick_ns_.load();
  return ns == std::numeric_limits<int64_t>::min() ? absl::InfinitePast() : absl::FromUnixNanos(ns);
}

void Observer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  pipeline_.Close();
  pipeline_.Join();
  if (!started_) return;
  // The worker has exited: its state is ours now.
  for (FlowHandler* h : active_) h->Flush();
}

void Observer::Report(RunReport* report) const {
  for (const Entry& e : handlers_) e.handler->Report(report);
}

}  // namespace tw::app
