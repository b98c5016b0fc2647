// File: libs/common/money.h
// Money as integer micro-USD (1 USD = 1,000,000 micro-USD). Never floating point in ledgers,
// budgets or prices. Prices are per 1M tokens in micro-USD, so cost(tokens) =
// tokens * price_per_million / 1e6 micro-USD, computed exactly in 128-bit and rounded up (a
// partial micro-dollar is charged as one: a reservation must always cover the actual cost).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p402 {

using MicroUsd = int64_t;
inline constexpr MicroUsd kMicrosPerUsd = 1'000'000;

// Cost of `tokens` at `price_per_million_tokens` (micro-USD per 1M tokens), rounded up.
// Saturates at INT64_MAX instead of overflowing.
MicroUsd TokenCost(int64_t tokens, MicroUsd price_per_million_tokens);

// Checked add/sub; std::nullopt on overflow.
std::optional<MicroUsd> AddMoney(MicroUsd a, MicroUsd b);
std::optional<MicroUsd> SubMoney(MicroUsd a, MicroUsd b);

// Exact decimal rendering: 1234567 -> "1.234567", -5 -> "-0.000005".
std::string FormatUsd(MicroUsd micros);
// Parses a decimal USD string ("0.15", "3", "1e-3" is rejected) exactly into micro-USD; fractions
// beyond 6 digits are rounded up. std::nullopt for malformed input.
std::optional<MicroUsd> ParseUsd(std::string_view text);
// Converts a JSON double (as found in models.dev prices, e.g. 0.15 USD per 1M tokens) to micro-USD
// by rounding to the nearest micro-dollar through its shortest decimal form; used only at catalog
// load time, never in arithmetic on money.
MicroUsd UsdDoubleToMicros(double usd);

}  // namespace p402
