// Tests of FeeSchedule: the default tiers at their boundaries, rounding up, Parse/ToString.
#include "services/settlement/core/fee_schedule.h"

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::StatusIs;

constexpr MicroUsd kUsd = 1'000'000;

TEST_CASE("default tiers by monthly volume", "[unit]") {
  const FeeSchedule fees = FeeSchedule::Default();
  CHECK(fees.BasisPointsFor(0) == 200);
  CHECK(fees.BasisPointsFor(1'000 * kUsd - 1) == 200);
  CHECK(fees.BasisPointsFor(1'000 * kUsd) == 100);
  CHECK(fees.BasisPointsFor(50'000 * kUsd - 1) == 100);
  CHECK(fees.BasisPointsFor(50'000 * kUsd) == 75);
  CHECK(fees.BasisPointsFor(250'000 * kUsd - 1) == 75);
  CHECK(fees.BasisPointsFor(250'000 * kUsd) == 50);
  CHECK(fees.BasisPointsFor(INT64_MAX) == 50);
  CHECK(fees.BasisPointsFor(-5) == 0);  // below the first tier: no tier applies
  CHECK(fees.ToString() == "0:200,1000000000:100,50000000000:75,250000000000:50");
}

TEST_CASE("the fee is rounded up to the micro-USD", "[unit]") {
  const FeeSchedule fees = FeeSchedule::Default();
  CHECK(fees.FeeFor(1'000, 0) == 20);             // 2%
  CHECK(fees.FeeFor(1'000, 1'000 * kUsd) == 10);  // 1%
  CHECK(fees.FeeFor(1, 0) == 1);                  // 0.02 -> 1
  CHECK(fees.FeeFor(49, 0) == 1);                 // 0.98 -> 1
  CHECK(fees.FeeFor(51, 0) == 2);                 // 1.02 -> 2
  CHECK(fees.FeeFor(333, 50'000 * kUsd) == 3);    // 2.4975 -> 3
  CHECK(fees.FeeFor(400, 250'000 * kUsd) == 2);   // exactly 2
  CHECK(fees.FeeFor(0, 0) == 0);
  CHECK(fees.FeeFor(-100, 0) == 0);
  // No overflow near the top of int64.
  CHECK(fees.FeeFor(INT64_MAX, 0) == INT64_MAX / 50 + 1);
}

TEST_CASE("flat schedules", "[unit]") {
  CHECK(FeeSchedule::Flat(0).FeeFor(1'000'000, 0) == 0);
  CHECK(FeeSchedule::Flat(150).FeeFor(1'000, 123 * kUsd) == 15);
  CHECK(FeeSchedule::Flat(20'000).BasisPointsFor(0) == 10'000);  // clamped
  CHECK(FeeSchedule::Flat(-3).BasisPointsFor(0) == 0);
}

TEST_CASE("Parse accepts the ToString format and rejects the rest", "[unit]") {
  auto parsed = FeeSchedule::Parse("0:300, 5000000:150,9000000:0");
  REQUIRE(parsed.ok());
  CHECK(parsed->BasisPointsFor(4'999'999) == 300);
  CHECK(parsed->BasisPointsFor(5'000'000) == 150);
  CHECK(parsed->BasisPointsFor(9'000'000) == 0);
  CHECK(parsed->ToString() == "0:300,5000000:150,9000000:0");
  auto round_trip = FeeSchedule::Parse(FeeSchedule::Default().ToString());
  REQUIRE(round_trip.ok());
  CHECK(round_trip->tiers().size() == 4);
  for (const char* bad : {"", "1:200", "0:200,0:100", "0:200,5:100,3:50", "0:10001", "0:abc",
                          "0:200,100", "0:-1", "-1:200", "0:200,", "0:2:3"}) {
    INFO(bad);
    CHECK_THAT(FeeSchedule::Parse(bad).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "fee schedule"));
  }
}

}  // namespace
}  // namespace p402::settlement
