// File: libs/metrics/registry.h
// The metrics registry: creates and owns metric families and renders them all
// as Prometheus text for the admin listener's /metrics
// (libs/http/admin_server). Each service registers its metrics once at startup
// on Registry::Default(); tests make their own Registry so they start from
// zero.
//
//   auto& shed = Registry::Default().AddCounter("p402_edge_shed_total", "Requests shed.");
//   shed.Inc();
//
// Names follow house style 3.10: p402_<svc>_<thing>_total counters, _seconds
// histograms, and low-cardinality labels only (route, code, decision,
// provider).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/metrics/counter.h"
#include "libs/metrics/family.h"
#include "libs/metrics/gauge.h"
#include "libs/metrics/histogram.h"

namespace p402::metrics {

// Thread-safe: registration and rendering take the registry lock; metric
// updates take no lock.
//
// Registration is idempotent: adding a family whose name already exists with
// the same type, label names (and bucket bounds) returns the existing family,
// so two components of the all-in-one launcher may both register a metric they
// share. Anything else is a programming error and aborts with a message naming
// the metric: an invalid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]* /
// [a-zA-Z_][a-zA-Z0-9_]*, no leading "__", no "le" on histograms, no
// duplicates), invalid bucket bounds (see ValidBucketBounds), or a name
// re-registered with a different type, labels or bounds. Names are program
// constants, so these aborts show up on the first test run, never from input.
//
// Returned references stay valid as long as the Registry; Default() is never
// destroyed.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry that /metrics renders. Never destroyed, so
  // metrics may be used from static objects and detached threads during
  // shutdown.
  static Registry& Default();

  CounterFamily& AddCounterFamily(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names,
                                  size_t max_children = kDefaultMaxChildren);
  GaugeFamily& AddGaugeFamily(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names,
                              size_t max_children = kDefaultMaxChildren);
  HistogramFamily& AddHistogramFamily(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::span<const double> bounds = DefaultLatencyBuckets(),
                                      size_t max_children = kDefaultMaxChildren);

  // Unlabelled metrics: a family without labels and its only child, rendered as
  // `name value`.
  Counter& AddCounter(std::string_view name, std::string_view help);
  Gauge& AddGauge(std::string_view name, std::string_view help);
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::span<const double> bounds = DefaultLatencyBuckets());

  // Every family in Prometheus text exposition format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4; charset=utf-8"), families ordered by name and
  // children by label values, so equal states render byte-identical text.
  std::string RenderPrometheusText() const;

 private:
  template <typename T>
  Family<T>& AddFamily(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names, std::span<const double> bounds,
                       size_t max_children);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_ ABSL_GUARDED_BY(mu_);
};

// Content-Type for a /metrics response carrying RenderPrometheusText().
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace p402::metrics
