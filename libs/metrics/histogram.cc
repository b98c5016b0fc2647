#include "libs/metrics/histogram.h"

#include <algorithm>
#include <cmath>

#include "libs/common/status_macros.h"

namespace p402::metrics {
namespace {

constexpr double kDefaultLatencyBuckets[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,     0.25,   0.5,     1,      2.5,   5,      10,    30,   60,
};

}  // namespace

std::span<const double> DefaultLatencyBuckets() { return kDefaultLatencyBuckets; }

bool ValidBucketBounds(std::span<const double> bounds) {
  if (bounds.empty()) {
    return false;
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      return false;
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      return false;
    }
  }
  return true;
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {
  P402_CHECK(ValidBucketBounds(bounds_));
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) {
    return;
  }
  // First bound >= v: that bucket's "le" is the smallest one containing v. Past
  // the end means the +Inf bucket (index bounds_.size()).
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace p402::metrics
