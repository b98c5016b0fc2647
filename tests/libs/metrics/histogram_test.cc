#include "libs/metrics/histogram.h"

#include <chrono>
#include <limits>
#include <vector>

#include "catch2/catch.hpp"

namespace p402::metrics {
namespace {

TEST_CASE("histogram buckets are le-inclusive and cumulative", "[unit]") {
  const std::vector<double> bounds = {1, 2, 5};
  Histogram h(bounds);
  h.Observe(-3);  // below the first bound: first bucket
  h.Observe(1);   // equal to a bound: that bucket
  h.Observe(1.5);
  h.Observe(2);
  h.Observe(5);
  h.Observe(5.0000001);  // just above the last bound: +Inf only
  h.Observe(1e300);
  auto s = h.Read();
  REQUIRE(s.bounds == bounds);
  REQUIRE(s.cumulative == std::vector<uint64_t>{2, 4, 5, 7});
  REQUIRE(s.count == 7);
  REQUIRE(h.Count() == 7);
  REQUIRE(s.sum == Approx(-3 + 1 + 1.5 + 2 + 5 + 5.0000001 + 1e300));
}

TEST_CASE("histogram drops NaN and keeps infinities in +Inf", "[unit]") {
  Histogram h(std::vector<double>{1});
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  REQUIRE(h.Count() == 0);
  REQUIRE(h.Sum() == 0);
  h.Observe(std::numeric_limits<double>::infinity());
  auto s = h.Read();
  REQUIRE(s.cumulative == std::vector<uint64_t>{0, 1});
  h.Observe(-std::numeric_limits<double>::infinity());
  REQUIRE(h.Read().cumulative == std::vector<uint64_t>{1, 2});
}

TEST_CASE("durations are observed in seconds", "[unit]") {
  Histogram h(DefaultLatencyBuckets());
  h.Observe(std::chrono::milliseconds(250));
  h.Observe(std::chrono::microseconds(50));
  auto s = h.Read();
  REQUIRE(s.sum == Approx(0.25005));
  // 50 µs lands in the first bucket (le=5e-05), 250 ms in le=0.25.
  REQUIRE(s.cumulative[0] == 1);
  size_t i_quarter = 0;
  while (s.bounds[i_quarter] != 0.25) {
    ++i_quarter;
  }
  REQUIRE(s.cumulative[i_quarter - 1] == 1);
  REQUIRE(s.cumulative[i_quarter] == 2);
}

TEST_CASE("default latency buckets span 50us to 60s", "[unit]") {
  auto b = DefaultLatencyBuckets();
  REQUIRE(ValidBucketBounds(b));
  REQUIRE(b.front() == 0.00005);
  REQUIRE(b.back() == 60);
  REQUIRE(b.size() >= 15);
}

TEST_CASE("ValidBucketBounds rejects unusable bounds", "[unit]") {
  using V = std::vector<double>;
  CHECK(ValidBucketBounds(V{0.5}));
  CHECK(ValidBucketBounds(V{-1, 0, 1}));
  CHECK_FALSE(ValidBucketBounds(V{}));
  CHECK_FALSE(ValidBucketBounds(V{1, 1}));
  CHECK_FALSE(ValidBucketBounds(V{2, 1}));
  CHECK_FALSE(ValidBucketBounds(V{1, std::numeric_limits<double>::infinity()}));
  CHECK_FALSE(ValidBucketBounds(V{std::numeric_limits<double>::quiet_NaN()}));
}

}  // namespace
}  // namespace p402::metrics
