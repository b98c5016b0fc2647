// File: libs/config/value_codec.h
// Internal to libs/config: conversions between config key values (FieldValue) and their text
// (env, flags), JSON file and display forms.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/config/config.h"
#include "libs/json/value.h"

namespace p402::config::internal {

// Parses an env/flag value. Errors: InvalidArgument with a message to follow "--key: ", e.g.
// "expected an integer, got \"abc\"".
absl::StatusOr<FieldValue> ParseText(KeyType type, std::string_view text);
// Converts a (non-null) JSON file value. Errors as ParseText.
absl::StatusOr<FieldValue> FromJson(KeyType type, const json::Value& value);
// The value as JSON, for RedactedDump (durations as strings such as "5s").
json::Value ToJson(const FieldValue& value);
// The value as shown in --help and the Markdown table.
std::string ToDisplay(const FieldValue& value);
// "250ms", "5s", "2m", "1h": the largest exact unit; parseable by ParseText.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace p402::config::internal
