// File: libs/metrics/histogram.h
// A histogram with fixed bucket upper bounds (Prometheus type "histogram"):
// request latency in seconds, token counts. Children of a HistogramFamily
// (family.h), created by the Registry. Rendered as cumulative `_bucket{le=...}`
// series plus `_sum` and `_count` (prometheus_text.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace p402::metrics {

// Latency buckets in seconds from 50 µs to 60 s, roughly 1-2.5-5 per decade:
// fine at the bottom for in-process hops (cache lookups, policy checks), coarse
// at the top for slow LLM streams.
std::span<const double> DefaultLatencyBuckets();

// True when `bounds` is a usable bucket list: non-empty, finite and strictly
// increasing.
bool ValidBucketBounds(std::span<const double> bounds);

// Thread-safe; Observe is lock-free (a binary search plus two relaxed atomic
// adds). The bucket counts are stored per bucket (not cumulative); rendering
// sums them, so the "+Inf" bucket always equals _count in one exposition.
class Histogram {
 public:
  // `bounds` must satisfy ValidBucketBounds (checked by the Registry; aborts
  // otherwise).
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Records one value; a value equal to a bound lands in that bound's bucket
  // (le = "less or equal"). NaN is dropped: it would poison _sum and matches no
  // bucket.
  void Observe(double v);

  // Records a duration in seconds.
  template <typename Rep, typename Period>
  void Observe(std::chrono::duration<Rep, Period> d) {
    Observe(std::chrono::duration<double>(d).count());
  }

  // A consistent-enough copy for rendering and tests. `cumulative[i]` counts
  // observations <= bounds[i]; the last element (one past the bounds) is the
  // "+Inf" bucket and equals `count`.
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

  uint64_t Count() const { return Read().count; }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  std::span<const double> Bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  // bounds_.size() + 1 entries; the last is the overflow (+Inf) bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

}  // namespace p402::metrics
