// File: services/edge/core/management_json_fields.h
// Internal to the management JSON mapping (management_json.cc): typed, strict reads of
// json::Value fields that turn every mismatch into an OpenAI-shaped request error (InvalidArgument
// with a reason code and the `param` payload of libs/openai/error_param.h). Not a public API.
// Thread-safety: pure functions; Fields is a read-only view.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "libs/openai/decode_util.h"

namespace p402::edge::mgmt_json {

// "a.b" (or "b" when `base` is empty) and "a[3]"; the shared OpenAI error vocabulary.
using openai::internal::BadValue;
using openai::internal::Field;
using openai::internal::Index;
using openai::internal::NotOneOf;
using openai::internal::UnknownParam;

// Errors (param empty = the body itself, written as param null):
//   Missing        "Missing required parameter: 'p'."            missing_required_parameter
//   WrongType      "Invalid type for 'p': expected X, but got Y." invalid_type
//   BadValue       "Invalid value for 'p': <detail>"               invalid_value
//   NotOneOf       "... 'x' is not one of 'a', 'b'."               invalid_value
//   UnknownParam   "Unknown parameter: 'p'."                       unknown_parameter
// Missing and WrongType word the body-level case ("the request body") for management calls;
// the others are libs/openai's.
absl::Status Missing(std::string_view param);
absl::Status WrongType(std::string_view param, std::string_view expected, const json::Value& got);

// Parses a request body that must be a JSON object; an empty (or all-whitespace) body reads as
// {}. Errors: invalid_json, invalid_type.
absl::StatusOr<json::Value> ParseBodyObject(std::string_view body);

// A view of one JSON object whose members were checked against an allow-list. A member that is
// null counts as absent.
class Fields {
 public:
  // Errors: WrongType when `value` is not an object, UnknownParam for the first member not in
  // `allowed`. `value` must outlive the Fields.
  static absl::StatusOr<Fields> Open(const json::Value& value, std::string_view param,
                                     std::initializer_list<std::string_view> allowed);
  // The member, or nullptr when absent or null.
  const json::Value* Get(std::string_view key) const;
  // The member, or Missing(Param(key)).
  absl::StatusOr<const json::Value*> Require(std::string_view key) const;
  // The member's param path.
  std::string Param(std::string_view key) const { return Field(param_, key); }

 private:
  Fields(const json::Value& object, std::string_view param) : object_(&object), param_(param) {}
  const json::Value* object_;
  std::string param_;
};

// A string of at most `max_bytes` bytes; empty only when `allow_empty`.
absl::StatusOr<std::string> ReadString(const json::Value& v, std::string_view param,
                                       size_t max_bytes, bool allow_empty = false);
absl::StatusOr<bool> ReadBool(const json::Value& v, std::string_view param);
// An integer (5.0 counts) in [min, max].
absl::StatusOr<int64_t> ReadInt(const json::Value& v, std::string_view param, int64_t min,
                                int64_t max);
// An array of at most `max_items` non-empty strings of at most `max_bytes` bytes each.
absl::StatusOr<std::vector<std::string>> ReadStrings(const json::Value& v, std::string_view param,
                                                     size_t max_items, size_t max_bytes);
// A non-negative decimal (string or number, read exactly) with at most `decimals` (<= 6)
// significant decimals, as an integer count of 10^-decimals units, at most `max_units`:
// ReadScaled("0.10", p, 4, 10000) = 1000.
absl::StatusOr<int64_t> ReadScaled(const json::Value& v, std::string_view param, int decimals,
                                   int64_t max_units);
// A duration (see ParseDurationJson in management_json.h) within [min_ms, max_ms].
absl::StatusOr<int64_t> ReadDurationIn(const json::Value& v, std::string_view param, int64_t min_ms,
                                       int64_t max_ms);
// A query parameter holding a decimal integer in [min, max].
absl::StatusOr<int64_t> ReadQueryInt(std::string_view text, std::string_view param, int64_t min,
                                     int64_t max);

}  // namespace p402::edge::mgmt_json
