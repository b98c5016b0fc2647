#include "libs/store/pg_result.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/store/internal/pg_result_access.h"

namespace p402::store {

struct PgResult::Impl {
  explicit Impl(PGresult* r) : result(r) {}
  ~Impl() { PQclear(result); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  PGresult* result;
};

namespace internal {
PgResult PgResultAccess::Wrap(PGresult* result) {
  return PgResult(std::make_unique<PgResult::Impl>(result));
}
}  // namespace internal

PgResult::PgResult() = default;
PgResult::PgResult(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgResult::~PgResult() = default;
PgResult::PgResult(PgResult&& other) noexcept = default;
PgResult& PgResult::operator=(PgResult&& other) noexcept = default;

int PgResult::rows() const { return impl_ ? PQntuples(impl_->result) : 0; }
int PgResult::cols() const { return impl_ ? PQnfields(impl_->result) : 0; }

int64_t PgResult::affected_rows() const {
  if (!impl_) {
    return 0;
  }
  // PQcmdTuples returns "" for commands without a count.
  std::string_view tuples = PQcmdTuples(impl_->result);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(tuples.data(), tuples.data() + tuples.size(), n);
  return ec == std::errc() && ptr == tuples.data() + tuples.size() ? n : 0;
}

std::string_view PgResult::ColumnName(int col) const {
  if (col < 0 || col >= cols()) {
    return {};
  }
  const char* name = PQfname(impl_->result, col);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

std::optional<int> PgResult::ColumnIndex(std::string_view name) const {
  for (int c = 0; c < cols(); ++c) {
    if (ColumnName(c) == name) {
      return c;
    }
  }
  return std::nullopt;
}

bool PgResult::IsNull(int row, int col) const {
  if (row < 0 || row >= rows() || col < 0 || col >= cols()) {
    return true;
  }
  return PQgetisnull(impl_->result, row, col) != 0;
}

std::optional<std::string_view> PgResult::Get(int row, int col) const {
  if (IsNull(row, col)) {
    return std::nullopt;
  }
  return std::string_view(PQgetvalue(impl_->result, row, col),
                          static_cast<size_t>(PQgetlength(impl_->result, row, col)));
}

std::optional<std::string_view> PgResult::Get(int row, std::string_view column) const {
  std::optional<int> col = ColumnIndex(column);
  return col ? Get(row, *col) : std::nullopt;
}

absl::StatusOr<std::string_view> PgResult::GetRequired(int row, int col) const {
  if (row < 0 || row >= rows() || col < 0 || col >= cols()) {
    return absl::OutOfRangeError(absl::StrCat("no cell (", row, ", ", col, ") in a result of ",
                                              rows(), " rows and ", cols(), " columns"));
  }
  std::optional<std::string_view> v = Get(row, col);
  if (!v) {
    return InvalidArgument(
        absl::StrCat("column \"", ToAbsl(ColumnName(col)), "\" of row ", row, " is NULL"));
  }
  return *v;
}

absl::StatusOr<int64_t> PgResult::GetInt64(int row, int col) const {
  absl::StatusOr<std::string_view> v = GetRequired(row, col);
  if (!v.ok()) {
    return v.status();
  }
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    return InvalidArgument(absl::StrCat("column \"", ToAbsl(ColumnName(col)), "\" of row ", row,
                                        " is not a 64-bit integer"));
  }
  return n;
}

absl::StatusOr<int64_t> PgResult::GetInt64(int row, std::string_view column) const {
  std::optional<int> col = ColumnIndex(column);
  if (!col) {
    return absl::OutOfRangeError(absl::StrCat("no column \"", ToAbsl(column), "\" in the result"));
  }
  return GetInt64(row, *col);
}

absl::StatusOr<bool> PgResult::GetBool(int row, int col) const {
  absl::StatusOr<std::string_view> v = GetRequired(row, col);
  if (!v.ok()) {
    return v.status();
  }
  if (*v == "t") {
    return true;
  }
  if (*v == "f") {
    return false;
  }
  return InvalidArgument(
      absl::StrCat("column \"", ToAbsl(ColumnName(col)), "\" of row ", row, " is not a boolean"));
}

absl::StatusOr<bool> PgResult::GetBool(int row, std::string_view column) const {
  std::optional<int> col = ColumnIndex(column);
  if (!col) {
    return absl::OutOfRangeError(absl::StrCat("no column \"", ToAbsl(column), "\" in the result"));
  }
  return GetBool(row, *col);
}

}  // namespace p402::store
