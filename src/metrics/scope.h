// The daemon's one stats scope: every counter, gauge and histogram lives in one
// prometheus-cpp Registry, so /metrics, /api/v1/status and the shutdown summary read the
// same numbers. Components take the handles they increment at construction (no lookup per
// event) instead of keeping private stats structs.
//
//   tw::metrics::Scope scope;
//   prometheus::Counter& shed = scope.Counter("tierwatch_pipeline_shed_total",
//                                            "Events discarded because the queue was full.");
//   shed.Increment();
//   auto& flows = scope.CounterFamily("tierwatch_flows_total", "Flows by verdict.");
//   flows.Add({{"verdict", "DROPPED"}}).Increment();
//   // Numbers kept elsewhere (a source's own stats) are bridged when someone reads:
//   tw::metrics::Scope::Hook hook = scope.AddCollectHook([&] { depth.Set(queue.size()); });
//   std::string text = scope.Render();   // Prometheus text format, by prometheus-cpp
//
// This module sits low (it depends on common only) so that the pipeline and the sources
// can count without knowing about classification; the classify-aware handlers live in
// app/. Thread-safety: handles are atomics (prometheus-cpp), safe from any thread. Collect
// hooks run on the reading thread, one reader at a time; a hook must be thread-safe with
// respect to what it reads, and is removed when its Hook handle is destroyed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/labels.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace tw::metrics {

class Scope {
 public:
  Scope();
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  // Families: get-or-create by name (the same name twice gives the same family; a name
  // reused with another type is a programming error and throws from prometheus-cpp).
  prometheus::Family<prometheus::Counter>& CounterFamily(const std::string& name,
                                                         const std::string& help);
  prometheus::Family<prometheus::Gauge>& GaugeFamily(const std::string& name,
                                                     const std::string& help);
  prometheus::Family<prometheus::Histogram>& HistogramFamily(const std::string& name,
                                                             const std::string& help);

  // One series (no labels unless given).
  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const prometheus::Labels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const prometheus::Labels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const std::vector<double>& buckets,
                                   const prometheus::Labels& labels = {});

  // Removes its hook when destroyed (or reset). Destroy it before what the hook reads.
  class Hook {
   public:
    Hook() = default;
    Hook(Hook&&) noexcept;
    Hook& operator=(Hook&&) noexcept;
    ~Hook();
    void Reset();

   private:
    friend class Scope;
    Hook(Scope* scope, uint64_t id) : scope_(scope), id_(id) {}
    Scope* scope_ = nullptr;
    uint64_t id_ = 0;
  };
  // `fn` runs before every Render/Collect/Refresh, to bring bridged counters and
  // on-demand gauges up to date.
  [[nodiscard]] Hook AddCollectHook(std::function<void()> fn);

  // Labels added to every series of every Collect/Render (a sharded daemon's `shard`).
  // Set before anything reads the scope.
  void SetConstantLabels(prometheus::Labels labels);

  // Runs the collect hooks (serialised with other readers).
  void Refresh();
  // Refresh, then every family with its samples.
  std::vector<prometheus::MetricFamily> Collect();
  // Refresh, then the Prometheus text exposition format (prometheus::TextSerializer).
  std::string Render();

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  void RemoveHook(uint64_t id);
  void RunHooksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);

  std::shared_ptr<prometheus::Registry> registry_;
  // Held while hooks run and the registry is collected: one reader at a time, so bridged
  // counters are never advanced twice for the same delta.
  absl::Mutex read_mu_;
  absl::Mutex hooks_mu_ ABSL_ACQUIRED_AFTER(read_mu_);
  uint64_t next_hook_ ABSL_GUARDED_BY(hooks_mu_) = 1;
  std::vector<std::pair<uint64_t, std::function<void()>>> hooks_ ABSL_GUARDED_BY(hooks_mu_);
  prometheus::Labels constant_labels_ ABSL_GUARDED_BY(read_mu_);
};

// Advances `counter` to `total` (a monotonic number kept elsewhere); never goes backwards.
void AdvanceTo(prometheus::Counter& counter, double total);

// Sum of every sample of a family in `families` with these label values (a subset of
// the labels; empty = all series). For counters and gauges; histograms give their count.
// For reports and tests, not for hot paths.
std::optional<double> SumOf(const std::vector<prometheus::MetricFamily>& families,
                            const std::string& name, const prometheus::Labels& match = {});

}  // namespace tw::metrics
