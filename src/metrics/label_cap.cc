#include "metrics/label_cap.h"

namespace tw::metrics {

const std::string& LabelCap::Admit(absl::string_view value) {
  auto it = admitted_.find(value);
  if (it != admitted_.end()) return *it;
  // A real value spelled "_other" would merge with the overflow bucket; that is what it means.
  if (value == kOtherLabelValue || admitted_.size() >= max_) {
    ++folded_;
    return other_;
  }
  return *admitted_.emplace(value).first;
}

}  // namespace tw::metrics
