#include "libs/store/pg_connection.h"

#include <chrono>
#include <string>

#include "catch2/catch.hpp"
#include "libs/store/pg_error.h"
#include "tests/libs/store/store_test_util.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::store {
namespace {

using p402::store::testing::ClosedLoopbackPort;
using p402::store::testing::UniqueName;
using p402::store::testing::WaitFor;
using p402::testing::IsOk;
using p402::testing::RequirePostgresDsn;
using p402::testing::StatusIs;

std::unique_ptr<PgConnection> MustConnect(const PgConnectOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect(RequirePostgresDsn(), options);
  REQUIRE_THAT(conn.status(), IsOk());
  return *std::move(conn);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST_CASE("Exec passes text parameters and NULLs and reads typed values", "[service][store]") {
  auto conn = MustConnect();
  absl::StatusOr<PgResult> r = conn->Exec(
      "SELECT $1::text AS word, $2::bigint AS n, $3::text IS NULL AS was_null, $3::text AS nul, "
      "$4::bool AS flag",
      {"héllo 'quoted'", "-9000000000", std::nullopt, "true"});
  REQUIRE_THAT(r.status(), IsOk());
  REQUIRE(r->rows() == 1);
  REQUIRE(r->cols() == 5);
  CHECK(r->ColumnName(1) == "n");
  CHECK(r->Get(0, 0) == std::optional<std::string_view>("héllo 'quoted'"));
  CHECK(r->Get(0, "word") == std::optional<std::string_view>("héllo 'quoted'"));
  CHECK(*r->GetInt64(0, "n") == -9000000000LL);
  CHECK(*r->GetBool(0, "was_null"));
  CHECK(r->IsNull(0, 3));
  CHECK_FALSE(r->Get(0, "nul").has_value());
  CHECK(*r->GetBool(0, 4));
  // Accessor misuse is a status or nullopt, never a crash.
  CHECK_THAT(r->GetInt64(0, "nul").status(), StatusIs(absl::StatusCode::kInvalidArgument, "NULL"));
  CHECK_THAT(r->GetInt64(0, "word").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(r->GetInt64(5, 0).status(), StatusIs(absl::StatusCode::kOutOfRange));
  CHECK_THAT(r->GetInt64(0, "WORD").status(), StatusIs(absl::StatusCode::kOutOfRange));
  CHECK_FALSE(r->Get(-1, 0).has_value());
  CHECK_FALSE(r->Get(0, 99).has_value());
  CHECK(r->ColumnName(99).empty());
}

TEST_CASE("Exec reports affected rows and ExecScript runs several statements", "[service][store]") {
  auto conn = MustConnect();
  const std::string table = UniqueName("conn_rows");
  REQUIRE_THAT(conn->ExecScript("CREATE TABLE " + table +
                                " (id int PRIMARY KEY, v text);"
                                "INSERT INTO " +
                                table + " VALUES (1, 'a'), (2, 'b'), (3, 'c');"),
               IsOk());
  absl::StatusOr<PgResult> up =
      conn->Exec("UPDATE " + table + " SET v = $1 WHERE id >= $2", {"z", "2"});
  REQUIRE_THAT(up.status(), IsOk());
  CHECK(up->affected_rows() == 2);
  CHECK(up->rows() == 0);
  absl::StatusOr<PgResult> sel = conn->Exec("SELECT id, v FROM " + table + " ORDER BY id");
  REQUIRE_THAT(sel.status(), IsOk());
  REQUIRE(sel->rows() == 3);
  CHECK(sel->Get(2, 1) == std::optional<std::string_view>("z"));
  CHECK(sel->affected_rows() == 3);
  CHECK(PgResult().rows() == 0);
  REQUIRE_THAT(conn->ExecScript("DROP TABLE " + table), IsOk());
}

TEST_CASE("unique violation is AlreadyExists and never echoes the value", "[service][store]") {
  auto conn = MustConnect();
  const std::string table = UniqueName("conn_unique");
  REQUIRE_THAT(conn->ExecScript("CREATE TABLE " + table + " (email text PRIMARY KEY)"), IsOk());
  const std::string secret = "secret-user@example.com";
  REQUIRE_THAT(conn->Exec("INSERT INTO " + table + " VALUES ($1)", {secret}).status(), IsOk());
  absl::Status dup = conn->Exec("INSERT INTO " + table + " VALUES ($1)", {secret}).status();
  CHECK_THAT(dup, StatusIs(absl::StatusCode::kAlreadyExists, "SQLSTATE 23505"));
  CHECK(SqlStateOf(dup) == std::string("23505"));
  CHECK(Message(dup).find(secret) == std::string::npos);
  // The session survives a statement error.
  CHECK_FALSE(conn->IsBroken());
  CHECK(conn->tx_state() == PgConnection::TxState::kIdle);
  REQUIRE_THAT(conn->ExecScript("DROP TABLE " + table), IsOk());
}

TEST_CASE("statement errors map by SQLSTATE", "[service][store]") {
  auto conn = MustConnect();
  CHECK_THAT(conn->Exec("SELEC 1").status(),
             StatusIs(absl::StatusCode::kInternal, "SQLSTATE 42601"));
  CHECK_THAT(conn->Exec("SELECT * FROM p402_no_such_table").status(),
             StatusIs(absl::StatusCode::kInternal, "SQLSTATE 42P01"));
  CHECK_THAT(conn->Exec("SELECT 1 / $1::int", {"0"}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "SQLSTATE 22012"));
  absl::Status bad_int = conn->Exec("SELECT $1::int", {"sk-live-do-not-log"}).status();
  CHECK_THAT(bad_int, StatusIs(absl::StatusCode::kInvalidArgument, "SQLSTATE 22P02"));
  CHECK(Message(bad_int).find("sk-live-do-not-log") == std::string::npos);
  absl::Status nul = conn->Exec("SELECT $1::text", {std::string("a\0b", 3)}).status();
  CHECK_THAT(nul, StatusIs(absl::StatusCode::kInvalidArgument, "parameter $1"));
  CHECK_FALSE(conn->IsBroken());
}

TEST_CASE("transaction state is tracked and a failed transaction is FailedPrecondition",
          "[service][store]") {
  auto conn = MustConnect();
  REQUIRE_THAT(conn->Exec("BEGIN").status(), IsOk());
  CHECK(conn->tx_state() == PgConnection::TxState::kInTransaction);
  CHECK_FALSE(conn->Exec("SELEC").ok());
  CHECK(conn->tx_state() == PgConnection::TxState::kInFailedTransaction);
  CHECK_THAT(conn->Exec("SELECT 1").status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "SQLSTATE 25P02"));
  REQUIRE_THAT(conn->Exec("ROLLBACK").status(), IsOk());
  CHECK(conn->tx_state() == PgConnection::TxState::kIdle);
}

TEST_CASE("statement_timeout turns a long statement into DeadlineExceeded", "[service][store]") {
  PgConnectOptions options;
  options.statement_timeout = std::chrono::milliseconds(100);
  auto conn = MustConnect(options);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THAT(conn->Exec("SELECT pg_sleep(10)").status(),
             StatusIs(absl::StatusCode::kDeadlineExceeded, "SQLSTATE 57014"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK_THAT(conn->Exec("SELECT 1").status(), IsOk());
}

TEST_CASE("connecting to a closed port is Unavailable, quickly", "[service][store]") {
  const std::string dsn =
      "postgresql://postgres@127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/p402_test";
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(dsn);
  CHECK_THAT(conn.status(), StatusIs(absl::StatusCode::kUnavailable, "cannot connect"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("a malformed DSN is InvalidArgument and its password is not echoed", "[service][store]") {
  CHECK_THAT(ValidateDsn(""), StatusIs(absl::StatusCode::kInvalidArgument, "empty"));
  CHECK_THAT(ValidateDsn("host=localhost no_such_option=1"),
             StatusIs(absl::StatusCode::kInvalidArgument, "does not parse"));
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect("postgresql://u:hunter2-secret@[::1/db");
  CHECK_THAT(conn.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(Message(conn.status()).find("hunter2") == std::string::npos);
  CHECK_THAT(ValidateDsn(RequirePostgresDsn()), IsOk());
}

TEST_CASE("a terminated backend makes the connection Unavailable and broken", "[service][store]") {
  auto victim = MustConnect();
  auto killer = MustConnect();
  const int pid = victim->backend_pid();
  REQUIRE(pid > 0);
  REQUIRE_THAT(killer->Exec("SELECT pg_terminate_backend($1)", {std::to_string(pid)}).status(),
               IsOk());
  // pg_terminate_backend only signals; wait until the backend is gone.
  REQUIRE(WaitFor([&] {
    auto r =
        killer->Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {std::to_string(pid)});
    return r.ok() && *r->GetInt64(0, 0) == 0;
  }));
  CHECK_THAT(victim->Exec("SELECT 1").status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK(victim->IsBroken());
  CHECK_FALSE(victim->CheckAlive());
  CHECK_THAT(victim->Exec("SELECT 1").status(), StatusIs(absl::StatusCode::kUnavailable, "broken"));
}

}  // namespace
}  // namespace p402::store
