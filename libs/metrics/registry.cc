#include "libs/metrics/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace p402::metrics {
namespace {

[[noreturn]] void RegistrationFailed(std::string_view name, std::string_view why) {
  // stderr directly: the logger may be configured off, and this must be seen.
  std::fprintf(stderr, "p402 metrics: cannot register \"%.*s\": %.*s\n",
               static_cast<int>(name.size()), name.data(), static_cast<int>(why.size()),
               why.data());
  std::abort();
}

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool IsValidName(std::string_view s, bool allow_colon) {
  if (s.empty() || !IsNameStart(s[0], allow_colon)) {
    return false;
  }
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9'); });
}

void ValidateOrDie(std::string_view name, MetricType type,
                   const std::vector<std::string>& label_names, std::span<const double> bounds) {
  if (!IsValidName(name, /*allow_colon=*/true)) {
    RegistrationFailed(name, "invalid metric name");
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!IsValidName(label, /*allow_colon=*/false)) {
      RegistrationFailed(name, "invalid label name \"" + label + "\"");
    }
    if (label.starts_with("__")) {
      RegistrationFailed(name, "label names starting with __ are reserved");
    }
    if (type == MetricType::kHistogram && label == "le") {
      RegistrationFailed(name, "histograms cannot have a label named le");
    }
    if (!seen.insert(label).second) {
      RegistrationFailed(name, "duplicate label name \"" + label + "\"");
    }
  }
  if (type == MetricType::kHistogram && !ValidBucketBounds(bounds)) {
    RegistrationFailed(name, "bucket bounds must be non-empty, finite and strictly increasing");
  }
}

}  // namespace

Registry& Registry::Default() {
  static Registry* const registry = new Registry();  // never destroyed, see header
  return *registry;
}

template <typename T>
Family<T>& Registry::AddFamily(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names, std::span<const double> bounds,
                               size_t max_children) {
  constexpr MetricType kType = internal::TypeOf<T>();
  if (kType != MetricType::kHistogram) {
    bounds = {};
  }
  ValidateOrDie(name, kType, label_names, bounds);
  if (max_children == 0) {
    RegistrationFailed(name, "max_children must be at least 1");
  }
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    FamilyBase& existing = *it->second;
    if (existing.type() != kType) {
      RegistrationFailed(name, "already registered as a " + std::string(TypeName(existing.type())));
    }
    if (existing.label_names() != label_names) {
      RegistrationFailed(name, "already registered with different label names");
    }
    if (!std::equal(bounds.begin(), bounds.end(), existing.bounds().begin(),
                    existing.bounds().end())) {
      RegistrationFailed(name, "already registered with different bucket bounds");
    }
    return static_cast<Family<T>&>(existing);
  }
  auto family =
      std::make_unique<Family<T>>(std::string(name), std::string(help), std::move(label_names),
                                  std::vector<double>(bounds.begin(), bounds.end()), max_children);
  Family<T>& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names,
                                          size_t max_children) {
  return AddFamily<Counter>(name, help, std::move(label_names), {}, max_children);
}

GaugeFamily& Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names, size_t max_children) {
  return AddFamily<Gauge>(name, help, std::move(label_names), {}, max_children);
}

HistogramFamily& Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names,
                                              std::span<const double> bounds, size_t max_children) {
  return AddFamily<Histogram>(name, help, std::move(label_names), bounds, max_children);
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help) {
  return AddCounterFamily(name, help, {}).WithLabels({});
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help) {
  return AddGaugeFamily(name, help, {}).WithLabels({});
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::span<const double> bounds) {
  return AddHistogramFamily(name, help, {}, bounds).WithLabels({});
}

std::string Registry::RenderPrometheusText() const {
  std::string out;
  out.reserve(4096);
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, family] : families_) {
    family->AppendText(out);
  }
  return out;
}

}  // namespace p402::metrics
