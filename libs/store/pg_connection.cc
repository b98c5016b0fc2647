#include "libs/store/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/store/internal/pg_result_access.h"
#include "libs/store/pg_error.h"

namespace p402::store {
namespace {

// libpq messages span several lines ("...\n\tIs the server running...\n"); one line reads better
// in a status and in a JSON log.
std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  return out;
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// SQLSTATEs after which the server closes the session.
bool EndsSession(std::string_view sqlstate) {
  return sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

}  // namespace

struct PgConnection::Impl {
  explicit Impl(PGconn* c) : conn(c) {}
  ~Impl() { PQfinish(conn); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  absl::Status Lost() {
    broken = true;
    return Unavailable(absl::StrCat("postgres connection lost: ", OneLine(PQerrorMessage(conn))));
  }

  // Turns what PQexec* returned into a PgResult or a status; frees `r` on every error path.
  absl::StatusOr<PgResult> Take(PGresult* r) {
    if (r == nullptr) {
      if (PQstatus(conn) != CONNECTION_OK) {
        return Lost();
      }
      return Internal(absl::StrCat("postgres: ", OneLine(PQerrorMessage(conn))));
    }
    switch (PQresultStatus(r)) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        return internal::PgResultAccess::Wrap(r);
      case PGRES_FATAL_ERROR:
      case PGRES_NONFATAL_ERROR:
      case PGRES_BAD_RESPONSE: {
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        std::string sqlstate = state ? state : "";
        std::string message = OneLine(primary ? primary : PQresultErrorMessage(r));
        PQclear(r);
        if (PQstatus(conn) != CONNECTION_OK) {
          broken = true;
          return Unavailable(absl::StrCat("postgres connection lost: ", message,
                                          sqlstate.empty() ? "" : " (SQLSTATE ", sqlstate,
                                          sqlstate.empty() ? "" : ")"));
        }
        if (EndsSession(sqlstate)) {
          broken = true;
        }
        return StatusFromPgError(sqlstate, message);
      }
      default:
        // COPY and pipeline states leave the protocol somewhere this class never expects; the
        // session cannot be trusted any more.
        PQclear(r);
        broken = true;
        return Internal("postgres: unsupported result (COPY and pipelining are not supported)");
    }
  }

  PGconn* conn;
  bool broken = false;
};

namespace {

// Receives server notices, and errors that arrive while no statement runs. Notices (e.g.
// "relation already exists, skipping") must not reach stderr raw: libpq's default receiver prints
// them, breaking the JSON-lines log. A FATAL message while idle (pg_terminate_backend, server
// shutdown) means the session is over even before the socket reports EOF.
// `arg` points at the connection's `broken` flag.
void OnNotice(void* arg, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  const std::string_view level = severity ? severity : "";
  if (level == "FATAL" || level == "PANIC") {
    *static_cast<bool*>(arg) = true;
  }
  P402_LOG(kDebug, "postgres notice")
      .Field("severity", level)
      .Field("notice", OneLine(PQresultErrorMessage(notice)));
}

}  // namespace

absl::Status ValidateDsn(std::string_view dsn) {
  if (dsn.empty()) {
    return InvalidArgument("the PostgreSQL DSN is empty");
  }
  if (HasNul(dsn)) {
    return InvalidArgument("the PostgreSQL DSN contains a NUL byte");
  }
  std::string copy(dsn);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(copy.c_str(), &error);
  if (options == nullptr) {
    // libpq's message may quote parts of the DSN, including a password: do not forward it.
    if (error != nullptr) {
      PQfreemem(error);
    }
    return InvalidArgument(
        "the PostgreSQL DSN does not parse; expected postgresql://user@host:port/dbname or "
        "key=value pairs");
  }
  PQconninfoFree(options);
  return absl::OkStatus();
}

PgConnection::PgConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgConnection::~PgConnection() = default;

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    std::string_view dsn, const PgConnectOptions& options) {
  P402_RETURN_IF_ERROR(ValidateDsn(dsn));
  if (HasNul(options.application_name) || options.connect_timeout_seconds < 0) {
    return InvalidArgument("invalid PostgreSQL connect options");
  }
  const std::string dsn_copy(dsn);
  const std::string timeout = std::to_string(options.connect_timeout_seconds);
  // Keywords are applied in order and the expanded DSN sits after our defaults, so settings
  // written in the DSN win; client_encoding comes last because results are read as UTF-8.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                        nullptr};
  const char* values[] = {timeout.c_str(), options.application_name.c_str(), dsn_copy.c_str(),
                          "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Unavailable("cannot connect to PostgreSQL: out of memory");
  }
  auto impl = std::make_unique<Impl>(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    return Unavailable(
        absl::StrCat("cannot connect to PostgreSQL: ", OneLine(PQerrorMessage(conn))));
  }
  PQsetNoticeReceiver(conn, &OnNotice, &impl->broken);
  std::unique_ptr<PgConnection> connection(new PgConnection(std::move(impl)));
  if (options.statement_timeout.count() > 0) {
    absl::StatusOr<PgResult> set =
        connection->Exec("SELECT set_config('statement_timeout', $1, false)",
                         {std::to_string(options.statement_timeout.count())});
    if (!set.ok()) {
      return set.status();
    }
  }
  return connection;
}

absl::StatusOr<PgResult> PgConnection::Exec(std::string_view sql, const PgParams& params) {
  if (impl_->broken) {
    return Unavailable("postgres connection is broken");
  }
  if (params.size() > 65535) {
    return InvalidArgument("a statement takes at most 65535 parameters");
  }
  if (HasNul(sql)) {
    return InvalidArgument("SQL text contains a NUL byte");
  }
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].has_value()) {
      if (HasNul(*params[i])) {
        // Never echo the value: it may be a secret.
        return InvalidArgument(absl::StrCat("parameter $", i + 1, " contains a NUL byte"));
      }
      values[i] = params[i]->c_str();
    }
  }
  const std::string query(sql);
  PGresult* r = PQexecParams(impl_->conn, query.c_str(), static_cast<int>(params.size()),
                             /*paramTypes=*/nullptr, values.data(), /*paramLengths=*/nullptr,
                             /*paramFormats=*/nullptr, /*resultFormat=*/0);
  return impl_->Take(r);
}

absl::Status PgConnection::ExecScript(std::string_view sql) {
  if (impl_->broken) {
    return Unavailable("postgres connection is broken");
  }
  if (HasNul(sql)) {
    return InvalidArgument("SQL script contains a NUL byte");
  }
  const std::string script(sql);
  // PQexec runs every statement and returns the last result, or the first error (execution
  // stops there).
  return impl_->Take(PQexec(impl_->conn, script.c_str())).status();
}

bool PgConnection::IsBroken() const {
  return impl_->broken || PQstatus(impl_->conn) != CONNECTION_OK;
}

bool PgConnection::CheckAlive() {
  if (IsBroken()) {
    impl_->broken = true;
    return false;
  }
  // libpq sockets are non-blocking, so PQconsumeInput reads what is there and returns at once. A
  // server that ended the session (restart, pg_terminate_backend) sent a FATAL message and then
  // EOF: the first read returns the message (PQisBusy parses it and hands it to the notice
  // processor), a later one sees EOF and marks the connection bad. Loop while the socket stays
  // readable; bounded, since an idle session receives nothing else.
  for (int i = 0; i < 4; ++i) {
    if (PQconsumeInput(impl_->conn) == 0 || PQstatus(impl_->conn) != CONNECTION_OK) {
      impl_->broken = true;
      return false;
    }
    (void)PQisBusy(impl_->conn);  // parses the input; a FATAL notice sets `broken`
    while (PGnotify* n = PQnotifies(impl_->conn)) {
      PQfreemem(n);
    }
    if (impl_->broken) {
      return false;
    }
    pollfd pfd{.fd = PQsocket(impl_->conn), .events = POLLIN, .revents = 0};
    if (pfd.fd < 0) {
      impl_->broken = true;
      return false;
    }
    if (::poll(&pfd, 1, 0) <= 0) {
      return true;  // nothing more to read: the session is alive as far as we can tell
    }
  }
  return true;
}

PgConnection::TxState PgConnection::tx_state() const {
  switch (PQtransactionStatus(impl_->conn)) {
    case PQTRANS_IDLE:
      return TxState::kIdle;
    case PQTRANS_INTRANS:
      return TxState::kInTransaction;
    case PQTRANS_INERROR:
      return TxState::kInFailedTransaction;
    case PQTRANS_ACTIVE:
      return TxState::kActive;
    default:
      return TxState::kUnknown;
  }
}

int PgConnection::backend_pid() const { return IsBroken() ? 0 : PQbackendPID(impl_->conn); }

}  // namespace p402::store
