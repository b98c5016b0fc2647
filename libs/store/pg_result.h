// File: libs/store/pg_result.h
// PgResult: the rows of one executed statement (PgConnection::Exec), owned by the caller. Values
// arrive in PostgreSQL's text format; accessors return views into the result, valid for as long
// as the PgResult lives. libpq types stay behind the pimpl.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace p402::store {

namespace internal {
struct PgResultAccess;
}  // namespace internal

class PgResult {
 public:
  // An empty result: no rows, no columns, no affected rows.
  PgResult();
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int cols() const;
  // Rows touched by INSERT/UPDATE/DELETE/MERGE/SELECT/MOVE/FETCH/COPY (the command tag's count);
  // 0 for other commands.
  int64_t affected_rows() const;

  // Name of column `col`; empty when out of range.
  std::string_view ColumnName(int col) const;
  // Index of the column named exactly `name` (case-sensitive, unlike libpq's PQfnumber).
  std::optional<int> ColumnIndex(std::string_view name) const;

  // The text value at (row, col); nullopt when the value is SQL NULL or (row, col) is out of range.
  std::optional<std::string_view> Get(int row, int col) const;
  std::optional<std::string_view> Get(int row, std::string_view column) const;
  bool IsNull(int row, int col) const;

  // The value parsed as a signed 64-bit integer. OutOfRange for a bad (row, col) or unknown column
  // name; InvalidArgument when the value is NULL or not an integer (the message names the column,
  // never the value).
  absl::StatusOr<int64_t> GetInt64(int row, int col) const;
  absl::StatusOr<int64_t> GetInt64(int row, std::string_view column) const;
  // The value parsed as a boolean ("t"/"f", PostgreSQL's text form). Codes as GetInt64.
  absl::StatusOr<bool> GetBool(int row, int col) const;
  absl::StatusOr<bool> GetBool(int row, std::string_view column) const;

 private:
  struct Impl;
  friend struct internal::PgResultAccess;
  explicit PgResult(std::unique_ptr<Impl> impl);
  absl::StatusOr<std::string_view> GetRequired(int row, int col) const;

  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::store
