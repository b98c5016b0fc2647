#include "libs/crypto/random.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/constant_time.h"

namespace p402::crypto {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

TEST_CASE("RandomBytes returns the requested number of distinct bytes", "[unit]") {
  CHECK(RandomBytes(0).empty());
  std::string a = RandomBytes(32);
  std::string b = RandomBytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);  // 2^-256 chance of a false failure
  // Not all zero (a stubbed-out generator would leave the buffer as
  // initialised).
  CHECK(std::any_of(a.begin(), a.end(), [](char c) { return c != 0; }));
  CHECK(RandomBytes(100000).size() == 100000);
}

TEST_CASE("RandomTokenLength holds at least the requested entropy", "[unit]") {
  CHECK(RandomTokenLength(0) == 0);
  CHECK(RandomTokenLength(16) == 22);
  CHECK(RandomTokenLength(24) == 33);
  CHECK(RandomTokenLength(32) == 43);
}

TEST_CASE("RandomToken is prefix plus base62 of the expected length", "[unit]") {
  std::string token = RandomToken("sk-p402-");
  REQUIRE(token.size() == 8 + 33);
  CHECK(token.starts_with("sk-p402-"));
  CHECK(token.substr(8).find_first_not_of(kBase62) == std::string::npos);
  CHECK(RandomToken("", 16).size() == 22);
  CHECK(RandomToken("x_", 0) == "x_");

  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(RandomToken("sk-p402-"));
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("RandomToken characters are spread over the whole alphabet", "[unit]") {
  // 66,000 characters, ~1,065 expected per symbol (sd ~32). The bounds are >8
  // sd wide, so this only fails for a real bias such as a dropped range of the
  // alphabet or a modulo skew.
  std::map<char, int> counts;
  for (int i = 0; i < 2000; ++i) {
    for (char c : RandomToken("", 24)) {
      ++counts[c];
    }
  }
  REQUIRE(counts.size() == 62);
  for (const auto& [c, n] : counts) {
    INFO(c);
    CHECK(n > 800);
    CHECK(n < 1330);
  }
}

TEST_CASE("ConstantTimeEquals compares whole byte strings", "[unit]") {
  CHECK(ConstantTimeEquals("", ""));
  CHECK(ConstantTimeEquals("secret", "secret"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secreT"));
  CHECK_FALSE(ConstantTimeEquals("secret", "Secret"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secret!"));
  CHECK_FALSE(ConstantTimeEquals("", "a"));
  CHECK(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace p402::crypto
