#include "libs/store/pg_error.h"

#include <string>

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::store {
namespace {

using p402::testing::StatusIs;

TEST_CASE("StatusFromPgError maps SQLSTATEs to status codes", "[service][store]") {
  struct Row {
    const char* sqlstate;
    absl::StatusCode code;
  };
  const Row rows[] = {
      {"23505", absl::StatusCode::kAlreadyExists},
      {"40001", absl::StatusCode::kAborted},
      {"40P01", absl::StatusCode::kAborted},
      {"55P03", absl::StatusCode::kAborted},
      {"57014", absl::StatusCode::kDeadlineExceeded},
      {"08006", absl::StatusCode::kUnavailable},
      {"57P01", absl::StatusCode::kUnavailable},
      {"53300", absl::StatusCode::kUnavailable},
      {"22P02", absl::StatusCode::kInvalidArgument},
      {"22012", absl::StatusCode::kInvalidArgument},
      {"23502", absl::StatusCode::kInvalidArgument},
      {"23514", absl::StatusCode::kInvalidArgument},
      {"23503", absl::StatusCode::kFailedPrecondition},
      {"25P02", absl::StatusCode::kFailedPrecondition},
      {"42601", absl::StatusCode::kInternal},
      {"42P01", absl::StatusCode::kInternal},
  };
  for (const Row& row : rows) {
    INFO(row.sqlstate);
    absl::Status s = StatusFromPgError(row.sqlstate, "boom");
    CHECK_THAT(s, StatusIs(row.code, std::string("postgres: boom (SQLSTATE ") + row.sqlstate));
    CHECK(SqlStateOf(s) == std::string(row.sqlstate));
  }
}

TEST_CASE("StatusFromPgError elides quoted input in data exceptions", "[service][store]") {
  absl::Status s =
      StatusFromPgError("22P02", "invalid input syntax for type integer: \"sk-live-secret\"");
  CHECK_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "invalid input syntax"));
  CHECK(std::string(s.message()).find("sk-live-secret") == std::string::npos);
  // Outside class 22, quoted identifiers (constraint names) are kept: they help and are not data.
  absl::Status u = StatusFromPgError("23505", "violates unique constraint \"users_email_key\"");
  CHECK_THAT(u, StatusIs(absl::StatusCode::kAlreadyExists, "users_email_key"));
}

TEST_CASE("StatusFromPgError without a valid SQLSTATE is Internal", "[service][store]") {
  CHECK_THAT(StatusFromPgError("", "lost\n"), StatusIs(absl::StatusCode::kInternal, "lost"));
  CHECK_THAT(StatusFromPgError("2350", "x"), StatusIs(absl::StatusCode::kInternal));
  CHECK_FALSE(SqlStateOf(StatusFromPgError("bad", "x")).has_value());
  CHECK_FALSE(SqlStateOf(absl::InternalError("not from postgres")).has_value());
}

}  // namespace
}  // namespace p402::store
