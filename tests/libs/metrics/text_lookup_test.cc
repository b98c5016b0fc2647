#include "libs/metrics/text_lookup.h"

#include <cmath>
#include <string>

#include "catch2/catch.hpp"
#include "libs/metrics/registry.h"

namespace p402::metrics {
namespace {

const std::string kText =
    "# HELP p402_edge_requests_total Requests.\n"
    "# TYPE p402_edge_requests_total counter\n"
    "p402_edge_requests_total{route=\"chat\",code=\"200\"} 3\n"
    "p402_edge_requests_total{route=\"chat\",code=\"500\"} 1\n"
    "p402_edge_requests_total{route=\"embeddings\",code=\"200\"} 4 "
    "1700000000000\n"
    "p402_edge_requests_total_extra 99\n"
    "p402_up 1\n"
    "p402_esc{v=\"a\\\\b\\\"c\\nd\"} 7\n"
    "p402_lat_seconds_bucket{route=\"chat\",le=\"0.5\"} 2\n"
    "p402_lat_seconds_bucket{route=\"chat\",le=\"+Inf\"} 5\n"
    "p402_inf +Inf\n"
    "p402_ninf -Inf\n"
    "p402_nan NaN\n"
    "p402_exp 5e-05\n"
    "garbage line without value\n"
    "p402_bad{unterminated=\"x} 1\n";

TEST_CASE("FindSample matches exact series", "[unit]") {
  CHECK(FindSample(kText, "p402_edge_requests_total{route=\"chat\",code=\"200\"}") == 3);
  CHECK(FindSample(kText, "p402_edge_requests_total{route=\"chat\",code=\"500\"}") == 1);
  // A trailing timestamp is ignored.
  CHECK(FindSample(kText, "p402_edge_requests_total{route=\"embeddings\",code=\"200\"}") == 4);
  CHECK(FindSample(kText, "p402_up") == 1);
  CHECK(FindSample(kText, "p402_up{}") == 1);
  CHECK(FindSample(kText, "p402_exp") == 5e-05);
  CHECK(FindSample(kText, "p402_lat_seconds_bucket{route=\"chat\",le=\"+Inf\"}") == 5);
}

TEST_CASE("FindSample ignores label order and compares unescaped values", "[unit]") {
  CHECK(FindSample(kText, "p402_edge_requests_total{code=\"500\",route=\"chat\"}") == 1);
  CHECK(FindSample(kText, "p402_esc{v=\"a\\\\b\\\"c\\nd\"}") == 7);
  CHECK(FindSample(kText, "p402_edge_requests_total{ route=\"chat\", code=\"200\", }") == 3);
}

TEST_CASE("FindSample does not match partial names or label subsets", "[unit]") {
  CHECK_FALSE(FindSample(kText, "p402_edge_requests_total"));
  CHECK_FALSE(FindSample(kText, "p402_edge_requests_total{route=\"chat\"}"));
  CHECK_FALSE(FindSample(kText, "p402_edge_requests"));
  CHECK(FindSample(kText, "p402_edge_requests_total_extra") == 99);
  CHECK_FALSE(FindSample(kText, "p402_edge_requests_total{route=\"chat\",code=\"404\"}"));
  CHECK_FALSE(FindSample(kText, "p402_up{job=\"x\"}"));
  CHECK_FALSE(FindSample(kText, "p402_bad{unterminated=\"x}"));
  CHECK_FALSE(FindSample("", "p402_up"));
}

TEST_CASE("FindSample parses special values", "[unit]") {
  CHECK(FindSample(kText, "p402_inf") == std::numeric_limits<double>::infinity());
  CHECK(FindSample(kText, "p402_ninf") == -std::numeric_limits<double>::infinity());
  auto nan = FindSample(kText, "p402_nan");
  REQUIRE(nan);
  CHECK(std::isnan(*nan));
}

TEST_CASE("FindSample rejects malformed selectors", "[unit]") {
  CHECK_FALSE(FindSample(kText, ""));
  CHECK_FALSE(FindSample(kText, "{route=\"chat\"}"));
  CHECK_FALSE(FindSample(kText, "p402_up{"));
  CHECK_FALSE(FindSample(kText, "p402_up{a=b}"));
  CHECK_FALSE(FindSample(kText, "p402_up{a=\"b\""));
  CHECK_FALSE(FindSample(kText, "p402_up extra"));
}

TEST_CASE("SumSamples adds every series with the given labels", "[unit]") {
  CHECK(SumSamples(kText, "p402_edge_requests_total") == 8);
  CHECK(SumSamples(kText, "p402_edge_requests_total{route=\"chat\"}") == 4);
  CHECK(SumSamples(kText, "p402_edge_requests_total{code=\"200\"}") == 7);
  CHECK(SumSamples(kText, "p402_edge_requests_total{code=\"200\",route=\"chat\"}") == 3);
  CHECK_FALSE(SumSamples(kText, "p402_edge_requests_total{code=\"418\"}"));
  CHECK_FALSE(SumSamples(kText, "p402_missing"));
}

TEST_CASE("FindSample reads back what the registry renders", "[unit]") {
  Registry r;
  auto& f = r.AddCounterFamily("p402_rt_total", "Round trip.", {"provider", "code"});
  f.WithLabels({"open\"ai\"\n", "200"}).Inc(11);
  auto& h = r.AddHistogramFamily("p402_rt_seconds", "RT.", {"provider"},
                                 std::vector<double>{0.001, 0.01});
  h.WithLabels({"x"}).Observe(0.005);
  std::string text = r.RenderPrometheusText();
  CHECK(FindSample(text, "p402_rt_total{provider=\"open\\\"ai\\\"\\n\",code=\"200\"}") == 11);
  CHECK(FindSample(text, "p402_rt_seconds_bucket{provider=\"x\",le=\"0.001\"}") == 0);
  CHECK(FindSample(text, "p402_rt_seconds_bucket{provider=\"x\",le=\"0.01\"}") == 1);
  CHECK(FindSample(text, "p402_rt_seconds_count{provider=\"x\"}") == 1);
  CHECK(FindSample(text, "p402_rt_seconds_sum{provider=\"x\"}") == 0.005);
}

}  // namespace
}  // namespace p402::metrics
