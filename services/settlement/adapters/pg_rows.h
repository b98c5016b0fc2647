// File: services/settlement/adapters/pg_rows.h
// Internal to the settlement PostgreSQL adapters (pg_*.cc): conversions between record fields and
// PostgreSQL's text format, and the paging cursor they share. Not a public API.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/store/pg_result.h"

namespace p402::settlement::pg_rows {

// Parameter text of an integer / a boolean.
inline std::string Int(int64_t v) { return std::to_string(v); }
inline std::string Bool(bool v) { return v ? "true" : "false"; }

// The non-NULL text of `column` in `row`; Internal when it is NULL or missing.
inline absl::StatusOr<std::string> Text(const store::PgResult& r, int row,
                                        std::string_view column) {
  std::optional<std::string_view> v = r.Get(row, column);
  if (!v.has_value()) {
    return Internal("settlement store: column " + std::string(column) + " is NULL or missing");
  }
  return std::string(*v);
}

// A page token: the decimal sequence number (bigserial) of the last row of the previous page.
// 0 for the empty (first page) token; InvalidArgument when malformed.
inline absl::StatusOr<int64_t> ParseSeqToken(std::string_view token) {
  if (token.empty()) {
    return int64_t{0};
  }
  int64_t seq = 0;
  if (token.size() > 19 ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(token), &seq) || seq <= 0) {
    return InvalidArgument("malformed page_token");
  }
  return seq;
}

}  // namespace p402::settlement::pg_rows
