// File: tests/e2e/metrics_text.h
// Reads values out of Prometheus text exposition (the services' admin /metrics), so e2e tests
// can assert counters: take MetricValue before and after an action and compare.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p402::e2e {

struct MetricSample {
  std::string name;  // full series name, e.g. "p402_edge_requests_total" or "..._bucket"
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line of `text` (comments and blank lines skipped; malformed lines ignored).
std::vector<MetricSample> ParseMetrics(std::string_view text);

// Sum of the values of every series named `name` whose labels include all of `labels` (other
// labels may differ), or nullopt when no series matches. Counters that were never incremented
// may be absent; use MetricValueOr0 when absence means zero.
std::optional<double> MetricValue(std::string_view text, std::string_view name,
                                  const std::map<std::string, std::string>& labels = {});
double MetricValueOr0(std::string_view text, std::string_view name,
                      const std::map<std::string, std::string>& labels = {});

}  // namespace p402::e2e
