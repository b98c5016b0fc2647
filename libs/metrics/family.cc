#include "libs/metrics/family.h"

#include <cstdio>
#include <cstdlib>

#include "libs/common/log.h"

namespace p402::metrics {

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void FamilyBase::WarnOverflowOnce() const {
  if (overflow_warned_.exchange(true, std::memory_order_relaxed)) {
    return;
  }
  P402_LOG(kWarn,
           "metric label cardinality cap reached; new label values are "
           "folded together")
      .Field("metric", name_)
      .Field("max_children", static_cast<uint64_t>(max_children_))
      .Field("overflow_value", kOverflowLabelValue);
}

void FamilyBase::LabelArityMismatch(size_t got) const {
  // stderr directly: the logger may be configured off, and this must be seen.
  std::fprintf(stderr, "p402 metrics: %s has %zu label names but WithLabels got %zu values\n",
               name_.c_str(), label_names_.size(), got);
  std::abort();
}

}  // namespace p402::metrics
