// File: services/policy/adapters/pg_store_rows.h
// Internal to PgPolicyStore (pg_policy_store*.cc): the small conversions between record fields
// and PostgreSQL's text format that its files share. Not a public API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/common/status_util.h"
#include "libs/store/pg_error.h"
#include "libs/store/pg_result.h"

namespace p402::policy::pg_rows {

// Parameter text of an integer / a boolean.
inline std::string Int(int64_t v) { return std::to_string(v); }
inline std::string Bool(bool v) { return v ? "true" : "false"; }

// The non-NULL text of `column` in `row`; Internal when it is NULL or missing.
inline absl::StatusOr<std::string> Text(const store::PgResult& r, int row,
                                        std::string_view column) {
  std::optional<std::string_view> v = r.Get(row, column);
  if (!v.has_value()) {
    return Internal("policy store: column " + std::string(column) + " is NULL or missing");
  }
  return std::string(*v);
}

// An insert's foreign-key violation (SQLSTATE 23503) means the owning tenant does not exist.
inline absl::Status TenantMissingAsNotFound(absl::Status s) {
  if (store::SqlStateOf(s) == "23503") {
    return NotFound("tenant not found");
  }
  return s;
}

}  // namespace p402::policy::pg_rows
