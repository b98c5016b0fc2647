// File: libs/openai/decode_util.h
// Internal to libs/openai: typed access to json::Value fields that turns every mismatch into an
// OpenAI-style request error (message, `param`, reason) -- the vocabulary shared by the chat
// request and p402 extension decoders, and the edge's management-API decoder
// (services/edge/core/management_json_fields.h). Not part of the public API otherwise.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/json/value.h"

namespace p402::openai::internal {

// Concatenates the pieces (absl::StrCat does not take std::string_view on this Abseil build).
std::string Cat(std::initializer_list<std::string_view> pieces);
// "a.b" (or "b" when `base` is empty), and "a[3]".
std::string Field(std::string_view base, std::string_view key);
std::string Index(std::string_view base, size_t i);

// "null", "a boolean", "an integer", "a decimal number", "a string", "an array", "an object".
std::string_view Describe(const json::Value& v);
// A number as it reads in an error message (shortest round-trip form).
std::string NumberText(double d);
// A client string quoted for an error message, cut to 64 bytes.
std::string Quote(std::string_view s);

// "'p' is a required property" (reason missing_required_parameter).
absl::Status Missing(std::string_view param);
// "Invalid type for 'p': expected <expected>, but got <Describe(got)> instead." (invalid_type).
absl::Status WrongType(std::string_view param, std::string_view expected, const json::Value& got);
// "Invalid value for 'p': 'x' is not one of 'a', 'b'." (invalid_value).
absl::Status NotOneOf(std::string_view param, std::string_view got,
                      std::initializer_list<std::string_view> allowed);
// "Invalid value for 'p': <detail>" (invalid_value).
absl::Status BadValue(std::string_view param, std::string_view detail);
// "Invalid 'p': empty array. ..." (empty_array).
absl::Status EmptyArray(std::string_view param);
// "Unknown parameter: 'p'." (unknown_parameter).
absl::Status UnknownParam(std::string_view param);

// Typed reads. The value must be present (callers handle absence and null first).
absl::StatusOr<std::string_view> ReadString(const json::Value& v, std::string_view param);
// A string of 1..max_len bytes.
absl::StatusOr<std::string_view> ReadNonEmptyString(const json::Value& v, std::string_view param,
                                                    size_t max_len);
absl::StatusOr<bool> ReadBool(const json::Value& v, std::string_view param);
// Any JSON number, checked against [min, max] (decimal_below_min_value / decimal_above_max_value).
absl::StatusOr<double> ReadNumber(const json::Value& v, std::string_view param, double min,
                                  double max);
// An integer (an integral decimal such as 5.0 is accepted), checked against [min, max]
// (integer_below_min_value / integer_above_max_value).
absl::StatusOr<int64_t> ReadInt(const json::Value& v, std::string_view param, int64_t min,
                                int64_t max);
// An array (empty allowed) or an object.
absl::StatusOr<const json::Array*> ReadArray(const json::Value& v, std::string_view param);
absl::StatusOr<const json::Object*> ReadObject(const json::Value& v, std::string_view param);
// An array of strings of 1..max_len bytes each, at most max_items long.
absl::StatusOr<std::vector<std::string>> ReadStringArray(const json::Value& v,
                                                         std::string_view param, size_t max_items,
                                                         size_t max_len);

// The member `key` of object `obj` when present and not null, else nullptr.
const json::Value* GetNonNull(const json::Value& obj, std::string_view key);
// A required member of the object at `param`: absence is Missing("param.key"), null is
// WrongType("param.key", expected, null).
absl::StatusOr<const json::Value*> RequireMember(const json::Value& obj, std::string_view param,
                                                 std::string_view key, std::string_view expected);

// True when `s` matches ^[A-Za-z0-9_-]{1,64}$ (also allowing '.' when `allow_dot`).
bool IsIdentifier(std::string_view s, bool allow_dot);

}  // namespace p402::openai::internal
