#include "metrics/scope.h"

#include <sstream>
#include <utility>

#include "prometheus/text_serializer.h"

namespace tw::metrics {

Scope::Scope() : registry_(std::make_shared<prometheus::Registry>()) {}

Scope::~Scope() = default;

prometheus::Family<prometheus::Counter>& Scope::CounterFamily(const std::string& name,
                                                              const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& Scope::GaugeFamily(const std::string& name,
                                                          const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& Scope::HistogramFamily(const std::string& name,
                                                                  const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

prometheus::Counter& Scope::Counter(const std::string& name, const std::string& help,
                                    const prometheus::Labels& labels) {
  return CounterFamily(name, help).Add(labels);
}

prometheus::Gauge& Scope::Gauge(const std::string& name, const std::string& help,
                                const prometheus::Labels& labels) {
  return GaugeFamily(name, help).Add(labels);
}

prometheus::Histogram& Scope::Histogram(const std::string& name, const std::string& help,
                                        const std::vector<double>& buckets,
                                        const prometheus::Labels& labels) {
  return HistogramFamily(name, help).Add(labels, buckets);
}

// --- hooks ---------------------------------------------------------------------------------

Scope::Hook::Hook(Hook&& other) noexcept : scope_(other.scope_), id_(other.id_) {
  other.scope_ = nullptr;
}

Scope::Hook& Scope::Hook::operator=(Hook&& other) noexcept {
  if (this != &other) {
    Reset();
    scope_ = other.scope_;
    id_ = other.id_;
    other.scope_ = nullptr;
  }
  return *this;
}

Scope::Hook::~Hook() { Reset(); }

void Scope::Hook::Reset() {
  if (scope_ != nullptr) scope_->RemoveHook(id_);
  scope_ = nullptr;
}

Scope::Hook Scope::AddCollectHook(std::function<void()> fn) {
  absl::MutexLock lock(&hooks_mu_);
  const uint64_t id = next_hook_++;
  hooks_.emplace_back(id, std::move(fn));
  return Hook(this, id);
}

void Scope::RemoveHook(uint64_t id) {
  // Waits for a running hook to finish: once this returns the hook never runs again, so its
  // owner may be destroyed.
  absl::MutexLock lock(&hooks_mu_);
  for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
    if (it->first == id) {
      hooks_.erase(it);
      return;
    }
  }
}

void Scope::RunHooksLocked() {
  absl::MutexLock lock(&hooks_mu_);
  for (auto& [id, fn] : hooks_) fn();
}

void Scope::Refresh() {
  absl::MutexLock lock(&read_mu_);
  RunHooksLocked();
}

void Scope::SetConstantLabels(prometheus::Labels labels) {
  absl::MutexLock lock(&read_mu_);
  constant_labels_ = std::move(labels);
}

std::vector<prometheus::MetricFamily> Scope::Collect() {
  absl::MutexLock lock(&read_mu_);
  RunHooksLocked();
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  if (!constant_labels_.empty()) {
    for (prometheus::MetricFamily& f : families) {
      for (prometheus::ClientMetric& m : f.metric) {
        for (const auto& [name, value] : constant_labels_) m.label.push_back({name, value});
      }
    }
  }
  return families;
}

std::string Scope::Render() {
  std::vector<prometheus::MetricFamily> families = Collect();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

void AdvanceTo(prometheus::Counter& counter, double total) {
  const double delta = total - counter.Value();
  if (delta > 0) counter.Increment(delta);
}

std::optional<double> SumOf(const std::vector<prometheus::MetricFamily>& families,
                            const std::string& name, const prometheus::Labels& match) {
  for (const prometheus::MetricFamily& f : families) {
    if (f.name != name) continue;
    double sum = 0;
    for (const prometheus::ClientMetric& m : f.metric) {
      bool ok = true;
      for (const auto& [k, v] : match) {
        bool found = false;
        for (const auto& l : m.label) {
          if (l.name == k) {
            found = l.value == v;
            break;
          }
        }
        if (!found) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      switch (f.type) {
        case prometheus::MetricType::Counter:
          sum += m.counter.value;
          break;
        case prometheus::MetricType::Gauge:
          sum += m.gauge.value;
          break;
        case prometheus::MetricType::Histogram:
          sum += static_cast<double>(m.histogram.sample_count);
          break;
        default:
          sum += m.untyped.value;
      }
    }
    return sum;
  }
  return std::nullopt;
}

}  // namespace tw::metrics
