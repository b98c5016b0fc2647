// File: libs/metrics/gauge.h
// A value that goes up and down (Prometheus type "gauge"): in-flight requests,
// pool sizes, the time of the last config reload. Children of a GaugeFamily
// (family.h), created by the Registry.
#pragma once

#include <atomic>
#include <cstdint>

namespace p402::metrics {

// Thread-safe and lock-free. One atomic double holds the value, so Set and
// Inc/Dec from different threads never tear; integers are exact up to 2^53, far
// beyond any gauge we keep. int64 arguments convert implicitly.
class alignas(64) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  // Adds `delta` (may be negative).
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Inc(double delta = 1) { Add(delta); }
  void Dec(double delta = 1) { Add(-delta); }

  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace p402::metrics
