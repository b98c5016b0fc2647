#include "libs/common/money.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace p402 {

MicroUsd TokenCost(int64_t tokens, MicroUsd price_per_million_tokens) {
  if (tokens <= 0 || price_per_million_tokens <= 0) {
    return 0;
  }
  __int128 product = static_cast<__int128>(tokens) * price_per_million_tokens;
  __int128 cost = (product + 999'999) / 1'000'000;
  if (cost > std::numeric_limits<MicroUsd>::max()) {
    return std::numeric_limits<MicroUsd>::max();
  }
  return static_cast<MicroUsd>(cost);
}

std::optional<MicroUsd> AddMoney(MicroUsd a, MicroUsd b) {
  MicroUsd out;
  if (__builtin_add_overflow(a, b, &out)) {
    return std::nullopt;
  }
  return out;
}

std::optional<MicroUsd> SubMoney(MicroUsd a, MicroUsd b) {
  MicroUsd out;
  if (__builtin_sub_overflow(a, b, &out)) {
    return std::nullopt;
  }
  return out;
}

std::string FormatUsd(MicroUsd micros) {
  bool negative = micros < 0;
  unsigned __int128 abs = negative ? -static_cast<__int128>(micros) : micros;
  unsigned long long whole = static_cast<unsigned long long>(abs / 1'000'000);
  unsigned long long frac = static_cast<unsigned long long>(abs % 1'000'000);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%llu.%06llu", negative ? "-" : "", whole, frac);
  return buf;
}

std::optional<MicroUsd> ParseUsd(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  bool negative = false;
  size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  __int128 whole = 0;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > std::numeric_limits<MicroUsd>::max() / kMicrosPerUsd) {
      return std::nullopt;
    }
  }
  __int128 frac = 0;
  int frac_digits = 0;
  bool round_up = false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (frac_digits < 6) {
        frac = frac * 10 + (text[i] - '0');
        ++frac_digits;
      } else if (text[i] != '0') {
        round_up = true;
      }
    }
  }
  if (i != text.size() || digits == 0) {
    return std::nullopt;
  }
  for (; frac_digits < 6; ++frac_digits) {
    frac *= 10;
  }
  __int128 total = whole * kMicrosPerUsd + frac + (round_up ? 1 : 0);
  if (total > std::numeric_limits<MicroUsd>::max()) {
    return std::nullopt;
  }
  return negative ? -static_cast<MicroUsd>(total) : static_cast<MicroUsd>(total);
}

MicroUsd UsdDoubleToMicros(double usd) {
  if (!std::isfinite(usd) || usd <= 0) {
    return 0;
  }
  // %.6f rounds to the nearest micro-dollar from the double's exact value; prices in the catalog
  // have at most 6 decimals, so this recovers the published decimal exactly.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", usd);
  return ParseUsd(buf).value_or(0);
}

}  // namespace p402
