#include "services/settlement/adapters/pg_ledger.h"

#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/store/migrate.h"
#include "libs/store/pg_error.h"
#include "services/settlement/adapters/pg_rows.h"
#include "services/settlement/adapters/settlement_migrations.h"

namespace p402::settlement {
namespace {

using pg_rows::Bool;
using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgResult;

constexpr char kColumns[] =
    "entry_id, tenant_id, session_id, kind, amount_micro_usd, cost_micro_usd, "
    "platform_fee_micro_usd, balance_before_micro_usd, balance_after_micro_usd, idempotency_key, "
    "request_id, transaction_hash, payer, provider, model, input_tokens, output_tokens, "
    "cost_estimated, note, created_unix_ms";
constexpr int kMaxPageSize = 1000;

absl::Status ValidateEntry(const LedgerEntry& e) {
  if (e.tenant_id.empty()) {
    return InvalidArgument("ledger entry needs a tenant_id");
  }
  if (e.idempotency_key.empty()) {
    return InvalidArgument("ledger entry needs an idempotency_key");
  }
  if (e.kind.empty()) {
    return InvalidArgument("ledger entry needs a kind");
  }
  return absl::OkStatus();
}

absl::StatusOr<LedgerEntry> EntryFromRow(const PgResult& r, int row) {
  LedgerEntry e;
  P402_ASSIGN_OR_RETURN(e.entry_id, Text(r, row, "entry_id"));
  P402_ASSIGN_OR_RETURN(e.tenant_id, Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(e.session_id, Text(r, row, "session_id"));
  P402_ASSIGN_OR_RETURN(e.kind, Text(r, row, "kind"));
  P402_ASSIGN_OR_RETURN(e.amount_micro_usd, r.GetInt64(row, "amount_micro_usd"));
  P402_ASSIGN_OR_RETURN(e.cost_micro_usd, r.GetInt64(row, "cost_micro_usd"));
  P402_ASSIGN_OR_RETURN(e.platform_fee_micro_usd, r.GetInt64(row, "platform_fee_micro_usd"));
  P402_ASSIGN_OR_RETURN(e.balance_before_micro_usd, r.GetInt64(row, "balance_before_micro_usd"));
  P402_ASSIGN_OR_RETURN(e.balance_after_micro_usd, r.GetInt64(row, "balance_after_micro_usd"));
  P402_ASSIGN_OR_RETURN(e.idempotency_key, Text(r, row, "idempotency_key"));
  P402_ASSIGN_OR_RETURN(e.request_id, Text(r, row, "request_id"));
  P402_ASSIGN_OR_RETURN(e.transaction, Text(r, row, "transaction_hash"));
  P402_ASSIGN_OR_RETURN(e.payer, Text(r, row, "payer"));
  P402_ASSIGN_OR_RETURN(e.provider, Text(r, row, "provider"));
  P402_ASSIGN_OR_RETURN(e.model, Text(r, row, "model"));
  P402_ASSIGN_OR_RETURN(e.input_tokens, r.GetInt64(row, "input_tokens"));
  P402_ASSIGN_OR_RETURN(e.output_tokens, r.GetInt64(row, "output_tokens"));
  P402_ASSIGN_OR_RETURN(e.cost_estimated, r.GetBool(row, "cost_estimated"));
  P402_ASSIGN_OR_RETURN(e.note, Text(r, row, "note"));
  P402_ASSIGN_OR_RETURN(e.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  return e;
}

absl::StatusOr<std::optional<LedgerEntry>> SelectByKey(PgConnection& conn,
                                                       std::string_view idempotency_key) {
  P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kColumns +
                                                  " FROM settlement.ledger_entries"
                                                  " WHERE idempotency_key = $1",
                                              {std::string(idempotency_key)}));
  if (r.rows() == 0) {
    return std::optional<LedgerEntry>();
  }
  P402_ASSIGN_OR_RETURN(LedgerEntry entry, EntryFromRow(r, 0));
  return std::optional<LedgerEntry>(std::move(entry));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgLedger>> PgLedger::Open(store::PgPool& pool, const Clock& clock) {
  P402_RETURN_IF_ERROR(
      store::Migrate(pool, kSettlementMigrationService, SettlementMigrations()).status());
  return std::make_unique<PgLedger>(pool, clock);
}

absl::StatusOr<AppendResult> PgLedger::Append(const LedgerEntry& entry) {
  P402_RETURN_IF_ERROR(ValidateEntry(entry));
  const int64_t now = UnixMillis(clock_.Now());
  absl::StatusOr<AppendResult> result =
      pool_.InTransaction([&](PgConnection& conn) -> absl::StatusOr<AppendResult> {
        const store::PgParams account = {entry.tenant_id, entry.session_id};
        P402_RETURN_IF_ERROR(conn.Exec("INSERT INTO settlement.balances (tenant_id, session_id)"
                                       " VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                       account)
                                 .status());
        // The row lock serialises appends to this account across processes.
        P402_ASSIGN_OR_RETURN(PgResult locked,
                              conn.Exec("SELECT balance_micro_usd FROM settlement.balances"
                                        " WHERE tenant_id = $1 AND session_id = $2 FOR UPDATE",
                                        account));
        if (locked.rows() != 1) {
          return Internal("settlement ledger: balances row vanished");
        }
        P402_ASSIGN_OR_RETURN(const int64_t before, locked.GetInt64(0, "balance_micro_usd"));
        // READ COMMITTED: this statement's snapshot is newer than the lock, so it sees an entry
        // committed under the same key by the append we waited for.
        P402_ASSIGN_OR_RETURN(std::optional<LedgerEntry> existing,
                              SelectByKey(conn, entry.idempotency_key));
        if (existing.has_value()) {
          return AppendResult{.entry = *std::move(existing), .duplicate = true};
        }
        int64_t after = 0;
        if (__builtin_add_overflow(before, entry.amount_micro_usd, &after)) {
          return InvalidArgument("ledger entry amount overflows the balance");
        }
        if (after < 0) {
          return WithReason(FailedPrecondition("insufficient balance"), "insufficient_balance");
        }
        LedgerEntry stored = entry;
        stored.entry_id = "le_" + crypto::HexEncode(crypto::RandomBytes(8));
        stored.balance_before_micro_usd = before;
        stored.balance_after_micro_usd = after;
        if (stored.created_unix_ms == 0) {
          stored.created_unix_ms = now;
        }
        const LedgerEntry& s = stored;
        P402_RETURN_IF_ERROR(
            conn.Exec(std::string("INSERT INTO settlement.ledger_entries (") + kColumns +
                          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
                          " $14, $15, $16, $17, $18, $19, $20)",
                      {s.entry_id,
                       s.tenant_id,
                       s.session_id,
                       s.kind,
                       Int(s.amount_micro_usd),
                       Int(s.cost_micro_usd),
                       Int(s.platform_fee_micro_usd),
                       Int(s.balance_before_micro_usd),
                       Int(s.balance_after_micro_usd),
                       s.idempotency_key,
                       s.request_id,
                       s.transaction,
                       s.payer,
                       s.provider,
                       s.model,
                       Int(s.input_tokens),
                       Int(s.output_tokens),
                       Bool(s.cost_estimated),
                       s.note,
                       Int(s.created_unix_ms)})
                .status());
        const TotalsDelta delta = TotalsDeltaOf(s);
        const int64_t credit = delta.topped_up;
        const int64_t debit = delta.spent;
        P402_RETURN_IF_ERROR(
            conn.Exec("UPDATE settlement.balances SET balance_micro_usd = $3,"
                      " total_topped_up_micro_usd = total_topped_up_micro_usd + $4,"
                      " total_spent_micro_usd = total_spent_micro_usd + $5"
                      " WHERE tenant_id = $1 AND session_id = $2",
                      {s.tenant_id, s.session_id, Int(after), Int(credit), Int(debit)})
                .status());
        return AppendResult{.entry = std::move(stored), .duplicate = false};
      });
  if (!result.ok() && store::SqlStateOf(result.status()) == "23505") {
    // The same key was appended concurrently on another account (its balances row is not ours, so
    // the lock did not order us): the unique index kept one; answer it.
    P402_ASSIGN_OR_RETURN(std::optional<LedgerEntry> existing, FindByKey(entry.idempotency_key));
    if (existing.has_value()) {
      return AppendResult{.entry = *std::move(existing), .duplicate = true};
    }
  }
  return result;
}

absl::StatusOr<Balance> PgLedger::GetBalance(std::string_view tenant_id,
                                             std::string_view session_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<Balance> {
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec("SELECT balance_micro_usd, total_topped_up_micro_usd, total_spent_micro_usd"
                  " FROM settlement.balances WHERE tenant_id = $1 AND session_id = $2",
                  {std::string(tenant_id), std::string(session_id)}));
    Balance b;
    if (r.rows() == 0) {
      return b;
    }
    P402_ASSIGN_OR_RETURN(b.balance_micro_usd, r.GetInt64(0, "balance_micro_usd"));
    P402_ASSIGN_OR_RETURN(b.total_topped_up_micro_usd, r.GetInt64(0, "total_topped_up_micro_usd"));
    P402_ASSIGN_OR_RETURN(b.total_spent_micro_usd, r.GetInt64(0, "total_spent_micro_usd"));
    return b;
  });
}

absl::StatusOr<LedgerPage> PgLedger::List(std::string_view tenant_id, std::string_view session_id,
                                          std::string_view page_token, int page_size) {
  if (page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page_size must be 1..1000");
  }
  P402_ASSIGN_OR_RETURN(const int64_t after_id, pg_rows::ParseSeqToken(page_token));
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<LedgerPage> {
    std::string sql = std::string("SELECT id, ") + kColumns +
                      " FROM settlement.ledger_entries WHERE tenant_id = $1 AND id > $2";
    store::PgParams params = {std::string(tenant_id), Int(after_id), Int(page_size + 1)};
    if (!session_id.empty()) {
      sql += " AND session_id = $4";
      params.push_back(std::string(session_id));
    }
    sql += " ORDER BY id LIMIT $3";
    P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(sql, params));
    LedgerPage page;
    const int n = r.rows() > page_size ? page_size : r.rows();
    page.entries.reserve(n);
    for (int row = 0; row < n; ++row) {
      P402_ASSIGN_OR_RETURN(LedgerEntry entry, EntryFromRow(r, row));
      page.entries.push_back(std::move(entry));
    }
    if (r.rows() > page_size) {
      P402_ASSIGN_OR_RETURN(const int64_t last_id, r.GetInt64(page_size - 1, "id"));
      page.next_page_token = std::to_string(last_id);
    }
    return page;
  });
}

absl::StatusOr<std::optional<LedgerEntry>> PgLedger::FindByKey(std::string_view idempotency_key) {
  return pool_.WithConnection(
      [&](PgConnection& conn) { return SelectByKey(conn, idempotency_key); });
}

absl::StatusOr<int64_t> PgLedger::VolumeSince(std::string_view tenant_id, int64_t since_unix_ms) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<int64_t> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec("SELECT COALESCE(sum(cost_micro_usd), 0)::bigint AS volume"
                                    " FROM settlement.ledger_entries WHERE tenant_id = $1"
                                    " AND created_unix_ms >= $2"
                                    " AND kind IN ('usage', 'payment', 'capture')",
                                    {std::string(tenant_id), Int(since_unix_ms)}));
    return r.GetInt64(0, "volume");
  });
}

}  // namespace p402::settlement
