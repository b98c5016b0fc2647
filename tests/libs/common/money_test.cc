#include "libs/common/money.h"

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/support/catch_status.h"

namespace p402 {
namespace {

TEST_CASE("TokenCost is exact and rounds up", "[unit]") {
  // $2.50 per 1M tokens = 2,500,000 micro-USD per 1M.
  CHECK(TokenCost(1'000'000, 2'500'000) == 2'500'000);
  CHECK(TokenCost(1000, 2'500'000) == 2'500);
  CHECK(TokenCost(1, 2'500'000) == 3);  // 2.5 micro-USD rounds up
  CHECK(TokenCost(0, 2'500'000) == 0);
  CHECK(TokenCost(-5, 2'500'000) == 0);
  CHECK(TokenCost(INT64_MAX, INT64_MAX) == INT64_MAX);
}

TEST_CASE("FormatUsd and ParseUsd round-trip exactly", "[unit]") {
  CHECK(FormatUsd(1'234'567) == "1.234567");
  CHECK(FormatUsd(-5) == "-0.000005");
  CHECK(FormatUsd(0) == "0.000000");
  CHECK(ParseUsd("0.15") == 150'000);
  CHECK(ParseUsd("3") == 3'000'000);
  CHECK(ParseUsd("-0.000005") == -5);
  CHECK(ParseUsd("0.0000001") == 1);  // beyond 6 digits rounds up
  CHECK_FALSE(ParseUsd("1e-3").has_value());
  CHECK_FALSE(ParseUsd("").has_value());
  CHECK_FALSE(ParseUsd(".").has_value());
  CHECK_FALSE(ParseUsd("99999999999999999999").has_value());
  CHECK(UsdDoubleToMicros(0.15) == 150'000);
  CHECK(UsdDoubleToMicros(0.0375) == 37'500);
  CHECK(UsdDoubleToMicros(-1.0) == 0);
}

TEST_CASE("checked money arithmetic reports overflow", "[unit]") {
  CHECK(AddMoney(1, 2) == 3);
  CHECK_FALSE(AddMoney(INT64_MAX, 1).has_value());
  CHECK_FALSE(SubMoney(INT64_MIN, 1).has_value());
}

TEST_CASE("status reasons travel with the status", "[unit]") {
  absl::Status s = WithReason(InvalidArgument("bad model"), "model_not_found");
  REQUIRE_THAT(s, testing::StatusIs(absl::StatusCode::kInvalidArgument, "bad model"));
  CHECK(ReasonOf(s) == "model_not_found");
  CHECK_FALSE(ReasonOf(InvalidArgument("x")).has_value());
}

}  // namespace
}  // namespace p402
