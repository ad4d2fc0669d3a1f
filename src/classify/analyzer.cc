#include "classify/analyzer.h"

#include <utility>

namespace tw::classify {

DropAnalyzer::DropAnalyzer(ClassifierContext context, AnalyzerOptions options)
    : classifier_(context, options.classifier),
      counts_(options.max_connections_per_class),
      recent_(options.recent_capacity),
      bypass_(context.tiers->options().debug_bypass_label, options.max_bypassed_endpoints) {
  stream_ = std::make_unique<DropStream>(classifier_, options.stream, [this](Classification&& c) {
    counts_.Add(c);
    bypass_.CountDrop(c);
    if (on_drop_) on_drop_(c);
    recent_.Add(std::move(c));
  });
}

void DropAnalyzer::OnEvent(const flow::Event& event) {
  if (event.flow) OnFlow(*event.flow);
}

void DropAnalyzer::OnFlow(const flow::Flow& f) {
  // Observe first: a DNS answer or a working connection in this very flow informs it.
  classifier_.Observe(f);
  bypass_.Observe(f);
  stream_->OnFlow(f);
}

}  // namespace tw::classify
