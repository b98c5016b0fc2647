// File: libs/store/pg_connection.h
// PgConnection: one blocking libpq connection. Statements use the extended protocol with
// text-format parameters ($1..$n); a std::nullopt parameter is SQL NULL. Errors map to
// absl::Status as described in pg_error.h; a connection that failed at the transport level marks
// itself broken and PgPool discards it.
//
// Blocking: call it only from a worker thread (see worker_pool.h), never from an I/O thread.
// Not thread-safe: one thread at a time (PgPool hands each connection to one caller).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/store/pg_result.h"

namespace p402::store {

// Positional parameters for $1..$n, in PostgreSQL's text format; std::nullopt is SQL NULL.
using PgParams = std::vector<std::optional<std::string>>;

struct PgConnectOptions {
  // Defaults for the session; the same settings written in the DSN take precedence.
  // Seconds libpq may spend connecting (libpq rounds values below 2 up to 2). 0 = wait forever.
  int connect_timeout_seconds = 5;
  std::string application_name = "p402";
  // When > 0, `SET statement_timeout` on the new session: a statement running longer fails with
  // DeadlineExceeded instead of holding a worker thread.
  std::chrono::milliseconds statement_timeout{0};
};

// Checks that `dsn` parses as a libpq connection string or URI, without connecting.
// InvalidArgument otherwise; the message never echoes the DSN (it may hold a password).
absl::Status ValidateDsn(std::string_view dsn);

class PgConnection {
 public:
  // Transaction state of the session, as libpq reports it.
  enum class TxState { kIdle, kInTransaction, kInFailedTransaction, kActive, kUnknown };

  // Connects and waits until the session is ready. InvalidArgument for a DSN that does not parse;
  // Unavailable when the server cannot be reached or refuses the session (the message is libpq's,
  // which names host and port, never the password).
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      std::string_view dsn, const PgConnectOptions& options = {});

  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one SQL statement with parameters. Codes per pg_error.h; Unavailable when the connection
  // is or becomes broken; InvalidArgument for more than 65535 parameters.
  absl::StatusOr<PgResult> Exec(std::string_view sql, const PgParams& params = {});

  // Runs a script of one or more statements with no parameters (simple query protocol), e.g. a
  // migration. Rows are discarded. Same codes as Exec.
  absl::Status ExecScript(std::string_view sql);

  // True once a transport-level failure was seen; the connection is then useless.
  bool IsBroken() const;
  // Reads any input pending on the socket without blocking and reports whether the session is
  // still usable (false when the server has closed it, e.g. after a restart). Marks it broken.
  bool CheckAlive();
  TxState tx_state() const;
  // Server process id serving this session (0 when broken); useful for pg_terminate_backend.
  int backend_pid() const;

 private:
  struct Impl;
  explicit PgConnection(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::store
