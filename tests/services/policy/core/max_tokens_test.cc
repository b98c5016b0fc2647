#include "services/policy/core/max_tokens.h"

#include <limits>

#include "catch2/catch.hpp"
#include "services/policy/core/guard_config.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

constexpr MicroUsd kUsd = 1'000'000;

TEST_CASE("FitMaxTokens finds the largest limit that fits", "[unit][policy]") {
  // $2 input + 1M output tokens at $3/M = $5 worst case; fit to $4 => $2 output => 666,666 tokens.
  auto fit = FitMaxTokens(5 * kUsd, 1'000'000, 3 * kUsd, 4 * kUsd, 1);
  REQUIRE(fit.has_value());
  CHECK(fit->max_output_tokens == 666'666);
  CHECK(fit->worst_case_micro_usd <= 4 * kUsd);
  // One more token would not fit.
  CHECK(2 * kUsd + TokenCost(666'667, 3 * kUsd) > 4 * kUsd);
  CHECK(fit->worst_case_micro_usd == 2 * kUsd + TokenCost(666'666, 3 * kUsd));
}

TEST_CASE("FitMaxTokens handles rounding of sub-micro-dollar prices", "[unit][policy]") {
  // $0.15/M output: 1 micro-USD buys 6.67 tokens; TokenCost rounds up.
  auto fit = FitMaxTokens(/*worst=*/150, /*max=*/1'000'000, /*price=*/150'000, /*limit=*/10, 1);
  REQUIRE(fit.has_value());
  CHECK(fit->max_output_tokens == 66);  // 66 * 0.15 = 9.9 -> 10 micro-USD
  CHECK(fit->worst_case_micro_usd == 10);
}

TEST_CASE("FitMaxTokens refuses what cannot fit", "[unit][policy]") {
  CHECK_FALSE(FitMaxTokens(5 * kUsd, 1'000'000, 3 * kUsd, 2 * kUsd, 1));  // input alone = $2
  CHECK_FALSE(FitMaxTokens(5 * kUsd, 1'000'000, 0, 4 * kUsd, 1));         // price unknown
  CHECK_FALSE(FitMaxTokens(5 * kUsd, 0, 3 * kUsd, 4 * kUsd, 1));          // no output limit set
  CHECK_FALSE(FitMaxTokens(5 * kUsd, 1'000'000, 3 * kUsd, -1, 1));        // negative limit
  CHECK_FALSE(FitMaxTokens(-1, 1'000'000, 3 * kUsd, 4 * kUsd, 1));        // negative worst case
  // Fits only below the floor.
  CHECK_FALSE(FitMaxTokens(5 * kUsd, 1'000'000, 3 * kUsd, 4 * kUsd, 700'000));
}

TEST_CASE("FitMaxTokens does not overflow on extreme inputs", "[unit][policy]") {
  const int64_t max = std::numeric_limits<int64_t>::max();
  auto fit = FitMaxTokens(max, max, max, max - 1, 1);
  if (fit.has_value()) {
    CHECK(fit->worst_case_micro_usd <= max - 1);
    CHECK(fit->max_output_tokens < max);
  }
  auto tiny = FitMaxTokens(max, 10, 1, 5, 1);  // output part is 1 micro-USD: input ~ max
  CHECK_FALSE(tiny.has_value());
}

TEST_CASE("GuardConfig validates its defaults", "[unit][policy]") {
  CHECK_THAT(GuardConfig{}.Validate(), p402::testing::IsOk());
  GuardConfig c;
  c.default_per_request_cap_micro_usd = 0;
  CHECK_THAT(c.Validate(), p402::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                   "default_per_request_cap_micro_usd"));
  c = GuardConfig{};
  c.reservation_ttl = std::chrono::milliseconds(10);
  CHECK_THAT(c.Validate(),
             p402::testing::StatusIs(absl::StatusCode::kInvalidArgument, "reservation_ttl"));
  c = GuardConfig{};
  c.min_reduced_max_tokens = 0;
  CHECK_THAT(c.Validate(),
             p402::testing::StatusIs(absl::StatusCode::kInvalidArgument, "min_reduced"));
}

TEST_CASE("ResolveLimits falls back to defaults, except for the budget", "[unit][policy]") {
  GuardConfig config;
  EffectiveLimits none = ResolveLimits(TenantLimits{}, config);
  CHECK(none.per_request_cap_micro_usd == 50 * kUsd);
  CHECK(none.daily_limit_micro_usd == 1000 * kUsd);
  CHECK(none.requests_per_hour == 1000);
  CHECK(none.max_concurrent == 10);
  CHECK(none.budget_micro_usd == 0);  // unlimited, not a default budget
  EffectiveLimits own = ResolveLimits(
      TenantLimits{.per_request_cap_micro_usd = 7, .budget_micro_usd = 9, .max_concurrent = 2},
      config);
  CHECK(own.per_request_cap_micro_usd == 7);
  CHECK(own.budget_micro_usd == 9);
  CHECK(own.max_concurrent == 2);
}

}  // namespace
}  // namespace p402::policy
