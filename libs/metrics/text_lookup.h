// File: libs/metrics/text_lookup.h
// Reads sample values back out of a Prometheus text exposition, for tests that
// assert on a service's /metrics (service and e2e tests) without a Prometheus
// client:
//   auto v = FindSample(body, R"(p402_edge_requests_total{route="chat",code="200"})");
//   REQUIRE(v == 1);
// Not for production parsing: it is linear in the exposition size per call.
#pragma once

#include <optional>
#include <string_view>

namespace p402::metrics {

// The value of the sample whose series is exactly `name_with_labels`: the same
// metric name and the same label set, compared after unescaping and regardless
// of label order (`name` alone matches only a sample without labels; `name{}`
// is the same). Histogram series are addressed by their sample names, e.g.
// `lat_seconds_bucket{le="0.5"}`, `lat_seconds_count`. Returns nullopt when no
// sample matches, or when `name_with_labels` is malformed. Comment lines are
// skipped; malformed sample lines are skipped too. Values "+Inf", "-Inf" and
// "NaN" parse to their doubles.
std::optional<double> FindSample(std::string_view exposition, std::string_view name_with_labels);

// The sum of every sample named like `name_with_labels` whose labels include
// all the given ones (a subset match: `p402_edge_requests_total{route="chat"}`
// sums over every code). Returns nullopt when no sample matches or the selector
// is malformed.
std::optional<double> SumSamples(std::string_view exposition, std::string_view name_with_labels);

}  // namespace p402::metrics
