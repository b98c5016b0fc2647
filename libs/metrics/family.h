// File: libs/metrics/family.h
// A metric family: one name, one help text, fixed label names, and one child
// metric (Counter, Gauge or Histogram) per distinct tuple of label values.
// Families are created and owned by the Registry (registry.h); code on the hot
// path does
//   static auto& requests = registry.AddCounterFamily(
//       "p402_edge_requests_total", "Requests by route and code.", {"route", "code"});
//   requests.WithLabels({"chat", "200"}).Inc();
// and may cache the child reference, which stays valid for the Registry's
// lifetime.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/metrics/counter.h"
#include "libs/metrics/gauge.h"
#include "libs/metrics/histogram.h"

namespace p402::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge" or "histogram", as written on the # TYPE line.
std::string_view TypeName(MetricType type);

// Label values used for the shared child that absorbs new label tuples once a
// family holds `max_children` children, so an unexpected high-cardinality label
// cannot grow memory or the exposition without bound.
inline constexpr std::string_view kOverflowLabelValue = "__overflow__";
inline constexpr size_t kDefaultMaxChildren = 1000;

// The type-independent part of a family, which the Registry stores and renders.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Bucket bounds; empty unless type() is kHistogram.
  const std::vector<double>& bounds() const { return bounds_; }

  // Appends the # HELP and # TYPE lines and every child's samples (ordered by
  // label values) in Prometheus text format 0.0.4. Thread-safe; takes this
  // family's lock.
  virtual void AppendText(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, std::vector<double> bounds, size_t max_children)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)),
        max_children_(max_children) {}

  // Logs once per family that the cardinality cap was hit.
  void WarnOverflowOnce() const;
  // Aborts with a clear message: label value count differs from the label name
  // count. This is a programming error at the call site, like calling a
  // function with the wrong arity.
  [[noreturn]] void LabelArityMismatch(size_t got) const;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  const size_t max_children_;
  mutable std::atomic<bool> overflow_warned_{false};
};

namespace internal {

// Orders label-value tuples lexicographically; transparent so lookups by
// string_view tuples need no allocation.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const auto& x, const auto& y) { return std::string_view(x) < std::string_view(y); });
  }
};

// Sample writers, one per metric type (prometheus_text.cc).
void AppendHeader(std::string& out, const FamilyBase& family);
void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Counter& c);
void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Gauge& g);
void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Histogram& h);

template <typename T>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<T, Counter>) {
    return MetricType::kCounter;
  } else if constexpr (std::is_same_v<T, Gauge>) {
    return MetricType::kGauge;
  } else {
    static_assert(std::is_same_v<T, Histogram>, "Family<T> needs Counter, Gauge or Histogram");
    return MetricType::kHistogram;
  }
}

}  // namespace internal

// Thread-safe. WithLabels takes a reader lock to find an existing child and a
// writer lock to create one; callers on the hot path should cache the returned
// reference.
template <typename T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds, size_t max_children)
      : FamilyBase(std::move(name), std::move(help), internal::TypeOf<T>(), std::move(label_names),
                   std::move(bounds), max_children) {}

  // The child for these label values (in label-name order), created on first
  // use. Aborts if the number of values differs from the number of label names.
  // Once the family holds max_children children, new tuples all map to one
  // child whose values are kOverflowLabelValue.
  T& WithLabels(std::initializer_list<std::string_view> values) {
    return Get(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T& WithLabels(std::span<const std::string_view> values) { return Get(values); }
  T& WithLabels(const std::vector<std::string>& values) {
    return Get(std::span<const std::string>(values));
  }

  // Number of children created so far (including the overflow child).
  size_t ChildCount() const {
    absl::ReaderMutexLock lock(&mu_);
    return children_.size();
  }

  void AppendText(std::string& out) const override {
    internal::AppendHeader(out, *this);
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [values, child] : children_) {
      internal::AppendSamples(out, *this, values, *child);
    }
  }

 private:
  template <typename S>
  T& Get(std::span<const S> values) {
    if (values.size() != label_names_.size()) {
      LabelArityMismatch(values.size());
    }
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = children_.find(values);
      if (it != children_.end()) {
        return *it->second;
      }
    }
    absl::MutexLock lock(&mu_);
    auto it = children_.find(values);  // another thread may have created it meanwhile
    if (it != children_.end()) {
      return *it->second;
    }
    std::vector<std::string> key;
    if (children_.size() >= max_children_) {
      WarnOverflowOnce();
      key.assign(values.size(), std::string(kOverflowLabelValue));
      it = children_.find(key);
      if (it != children_.end()) {
        return *it->second;
      }
    } else {
      key.assign(values.begin(), values.end());
    }
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
    T& ref = *child;
    children_.emplace(std::move(key), std::move(child));
    return ref;
  }

  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, internal::LabelValuesLess> children_
      ABSL_GUARDED_BY(mu_);
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

}  // namespace p402::metrics
