// File: libs/openai/usd_json.h
// Money at the JSON boundary: micro-USD integers rendered as JSON decimal numbers without floating
// point (p402_metadata costs, /v1/models prices), and USD amounts written by clients (p402
// max_cost_usd) converted exactly into micro-USD.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "libs/common/money.h"

namespace p402::openai {

// Exactly six decimals, a valid JSON number: 123 -> "0.000123", 1500000 -> "1.500000",
// -5 -> "-0.000005".
std::string UsdFixed(MicroUsd micros);

// Shortest exact decimal, a valid JSON number: 150000 -> "0.15", 2000000 -> "2", 0 -> "0".
std::string UsdTrimmed(MicroUsd micros);

// Parses a non-negative decimal USD amount with optional exponent ("0.01", "1e-3", "2.5E+1") into
// micro-USD, truncating digits below one micro-dollar (the amounts are client ceilings, so P402
// never allows more than was written). std::nullopt for malformed text, a negative sign or a value
// above INT64_MAX micro-USD.
std::optional<MicroUsd> UsdFromDecimalText(std::string_view text);

// Same for a JSON number already parsed into a double: converts through the shortest decimal form
// that round-trips, which is exactly the text the client wrote whenever it had at most 15
// significant digits. std::nullopt for negative or non-finite values and overflow.
std::optional<MicroUsd> UsdFromJsonDouble(double usd);

}  // namespace p402::openai
