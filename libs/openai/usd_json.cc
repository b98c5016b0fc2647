#include "libs/openai/usd_json.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace p402::openai {

std::string UsdFixed(MicroUsd micros) { return FormatUsd(micros); }

std::string UsdTrimmed(MicroUsd micros) {
  std::string s = FormatUsd(micros);
  while (s.back() == '0') {
    s.pop_back();
  }
  if (s.back() == '.') {
    s.pop_back();
  }
  if (s == "-0") {  // unreachable for integers, kept so the output is never "-0"
    s = "0";
  }
  return s;
}

std::optional<MicroUsd> UsdFromDecimalText(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '+') {
    ++i;
  }
  // value = digits x 10^exp10, digits without leading zeros.
  std::string digits;
  int64_t exp10 = 0;
  bool any_digit = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    any_digit = true;
    if (!digits.empty() || text[i] != '0') {
      digits.push_back(text[i]);
    }
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      any_digit = true;
      --exp10;
      if (!digits.empty() || text[i] != '0') {
        digits.push_back(text[i]);
      }
    }
  }
  if (!any_digit) {
    return std::nullopt;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      negative = text[i] == '-';
      ++i;
    }
    if (i >= text.size()) {
      return std::nullopt;
    }
    int64_t e = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (e < 100000) {  // saturate: anything this large is 0 or an overflow anyway
        e = e * 10 + (text[i] - '0');
      }
    }
    exp10 += negative ? -e : e;
  }
  if (i != text.size() || digits.size() > 100000) {
    return std::nullopt;
  }
  if (digits.empty()) {
    return 0;
  }
  // micros = digits x 10^(exp10 + 6); drop the digits below one micro-dollar.
  int64_t shift = exp10 + 6;
  if (shift < 0) {
    if (-shift >= static_cast<int64_t>(digits.size())) {
      return 0;
    }
    digits.resize(digits.size() - static_cast<size_t>(-shift));
    shift = 0;
  }
  if (static_cast<int64_t>(digits.size()) + shift > 19) {
    return std::nullopt;  // at least 10^19 > INT64_MAX
  }
  __int128 value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
  }
  for (int64_t k = 0; k < shift; ++k) {
    value *= 10;
  }
  if (value > std::numeric_limits<MicroUsd>::max()) {
    return std::nullopt;
  }
  return static_cast<MicroUsd>(value);
}

std::optional<MicroUsd> UsdFromJsonDouble(double usd) {
  if (!std::isfinite(usd) || usd < 0) {
    return std::nullopt;
  }
  if (usd == 0) {
    return 0;  // also -0.0, whose shortest text "-0" would read as negative
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), usd);
  if (res.ec != std::errc()) {
    return std::nullopt;
  }
  return UsdFromDecimalText(std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
}

}  // namespace p402::openai
