// File: libs/metrics/counter.h
// A monotonic counter (Prometheus type "counter"). Children of a CounterFamily
// (family.h) are created by the Registry (registry.h); callers cache the
// returned reference and call Inc() on the hot path, which is one relaxed
// atomic add with no lock.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>

namespace p402::metrics {

// Thread-safe and lock-free. Integer increments are kept in a uint64 so they
// stay exact past 2^53; fractional increments (Add) go to a separate double so
// the two never lose each other's precision. Owned by its family; never
// destroyed while the Registry lives.
class alignas(64) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `n` (default 1).
  void Inc(uint64_t n = 1) { int_.fetch_add(n, std::memory_order_relaxed); }

  // Adds a fractional amount (e.g. seconds of CPU, dollars). Negative, NaN and
  // infinite values are ignored, because a counter must never go down and one
  // bad value would poison it forever.
  void Add(double v) {
    if (!(v > 0) || std::isinf(v)) {
      return;
    }
    frac_.fetch_add(v, std::memory_order_relaxed);
  }

  // The current total. Reads are relaxed: exact once writers have finished
  // (e.g. after join).
  double Value() const {
    return static_cast<double>(int_.load(std::memory_order_relaxed)) +
           frac_.load(std::memory_order_relaxed);
  }
  // The integer part alone (sum of Inc), exact.
  uint64_t IntValue() const { return int_.load(std::memory_order_relaxed); }
  // The fractional part alone (sum of Add).
  double FracValue() const { return frac_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> int_{0};
  std::atomic<double> frac_{0.0};
};

}  // namespace p402::metrics
