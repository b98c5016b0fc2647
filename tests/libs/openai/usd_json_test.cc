// Money at the JSON boundary: exact micro-USD <-> decimal text.
#include "libs/openai/usd_json.h"

#include <limits>

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

TEST_CASE("UsdFixed and UsdTrimmed", "[unit]") {
  CHECK(UsdFixed(123) == "0.000123");
  CHECK(UsdFixed(0) == "0.000000");
  CHECK(UsdFixed(1500000) == "1.500000");
  CHECK(UsdFixed(-5) == "-0.000005");
  CHECK(UsdTrimmed(150000) == "0.15");
  CHECK(UsdTrimmed(2000000) == "2");
  CHECK(UsdTrimmed(0) == "0");
  CHECK(UsdTrimmed(1) == "0.000001");
  CHECK(UsdTrimmed(-2500000) == "-2.5");
  CHECK(UsdTrimmed(std::numeric_limits<MicroUsd>::max()) == "9223372036854.775807");
}

TEST_CASE("UsdFromDecimalText", "[unit]") {
  CHECK(UsdFromDecimalText("0.01") == 10000);
  CHECK(UsdFromDecimalText("1") == 1000000);
  CHECK(UsdFromDecimalText(".5") == 500000);
  CHECK(UsdFromDecimalText("5.") == 5000000);
  CHECK(UsdFromDecimalText("+2") == 2000000);
  CHECK(UsdFromDecimalText("1e-6") == 1);
  CHECK(UsdFromDecimalText("1E2") == 100000000);
  CHECK(UsdFromDecimalText("0.0000009") == 0);
  CHECK(UsdFromDecimalText("000123.4560000") == 123456000);
  CHECK(UsdFromDecimalText("9223372036854.775807") == std::numeric_limits<MicroUsd>::max());
  CHECK_FALSE(UsdFromDecimalText("9223372036854.775808").has_value());
  CHECK_FALSE(UsdFromDecimalText("1e400").has_value());
  CHECK(UsdFromDecimalText("1e-400") == 0);
  CHECK(UsdFromDecimalText("1e99999999999999999999") == std::nullopt);
  for (const char* bad : {"", "-1", "abc", "1.2.3", "1e", "1e+", ".", "e5", " 1", "1 ", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(UsdFromDecimalText(bad).has_value());
  }
}

TEST_CASE("UsdFromJsonDouble recovers the written decimal", "[unit]") {
  CHECK(UsdFromJsonDouble(0.29) == 290000);
  CHECK(UsdFromJsonDouble(0.1 + 0.2) == 300000);  // 0.30000000000000004 truncates to 0.3
  CHECK(UsdFromJsonDouble(1e-5) == 10);
  CHECK(UsdFromJsonDouble(0.000123) == 123);
  CHECK(UsdFromJsonDouble(-0.0) == 0);
  CHECK(UsdFromJsonDouble(12345.678901) == 12345678901);
  CHECK_FALSE(UsdFromJsonDouble(-1).has_value());
  CHECK_FALSE(UsdFromJsonDouble(std::numeric_limits<double>::infinity()).has_value());
  CHECK_FALSE(UsdFromJsonDouble(std::numeric_limits<double>::quiet_NaN()).has_value());
  CHECK_FALSE(UsdFromJsonDouble(1e20).has_value());
}

}  // namespace
}  // namespace p402::openai
