#include "services/settlement/adapters/pg_payment_store.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/store/migrate.h"
#include "services/settlement/adapters/pg_rows.h"
#include "services/settlement/adapters/settlement_migrations.h"

namespace p402::settlement {
namespace {

using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgParams;
using store::PgResult;

constexpr char kColumns[] =
    "chain_id, asset, payer, nonce, state, claim_owner, pay_to, amount, network, valid_before, "
    "tx_hash, raw_tx, error_reason, error_message, created_unix_ms, updated_unix_ms";
constexpr char kKeyWhere[] = "chain_id = $1 AND asset = $2 AND payer = $3 AND nonce = $4";
// Attempts of Claim's insert-or-read when the conflicting row vanishes in between (a Release).
constexpr int kClaimAttempts = 8;

const char* StateText(PaymentState s) {
  switch (s) {
    case PaymentState::kClaimed:
      return "claimed";
    case PaymentState::kSubmitted:
      return "submitted";
    case PaymentState::kSettled:
      return "settled";
    case PaymentState::kFailed:
      return "failed";
  }
  return "claimed";
}

absl::StatusOr<PaymentState> ParseState(std::string_view s) {
  if (s == "claimed") return PaymentState::kClaimed;
  if (s == "submitted") return PaymentState::kSubmitted;
  if (s == "settled") return PaymentState::kSettled;
  if (s == "failed") return PaymentState::kFailed;
  return Internal("settlement store: unknown payment state in the database");
}

absl::Status CheckChainId(uint64_t chain_id) {
  if (chain_id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgument("chain_id out of range");
  }
  return absl::OkStatus();
}

PgParams KeyParams(const PaymentKey& key) {
  return {Int(static_cast<int64_t>(key.chain_id)), key.asset, key.payer, key.nonce};
}

absl::StatusOr<PaymentRecord> RecordFromRow(const PgResult& r, int row) {
  PaymentRecord p;
  P402_ASSIGN_OR_RETURN(int64_t chain_id, r.GetInt64(row, "chain_id"));
  p.key.chain_id = static_cast<uint64_t>(chain_id);  // CHECK (chain_id >= 0)
  P402_ASSIGN_OR_RETURN(p.key.asset, Text(r, row, "asset"));
  P402_ASSIGN_OR_RETURN(p.key.payer, Text(r, row, "payer"));
  P402_ASSIGN_OR_RETURN(p.key.nonce, Text(r, row, "nonce"));
  P402_ASSIGN_OR_RETURN(std::string state, Text(r, row, "state"));
  P402_ASSIGN_OR_RETURN(p.state, ParseState(state));
  P402_ASSIGN_OR_RETURN(p.claim_owner, Text(r, row, "claim_owner"));
  P402_ASSIGN_OR_RETURN(p.pay_to, Text(r, row, "pay_to"));
  P402_ASSIGN_OR_RETURN(p.amount, Text(r, row, "amount"));
  P402_ASSIGN_OR_RETURN(p.network, Text(r, row, "network"));
  P402_ASSIGN_OR_RETURN(p.valid_before, r.GetInt64(row, "valid_before"));
  P402_ASSIGN_OR_RETURN(p.tx_hash, Text(r, row, "tx_hash"));
  P402_ASSIGN_OR_RETURN(p.raw_tx, Text(r, row, "raw_tx"));
  P402_ASSIGN_OR_RETURN(p.error_reason, Text(r, row, "error_reason"));
  P402_ASSIGN_OR_RETURN(p.error_message, Text(r, row, "error_message"));
  P402_ASSIGN_OR_RETURN(p.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  P402_ASSIGN_OR_RETURN(p.updated_unix_ms, r.GetInt64(row, "updated_unix_ms"));
  return p;
}

absl::StatusOr<std::optional<PaymentRecord>> SelectRecord(PgConnection& conn,
                                                          const PaymentKey& key) {
  P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kColumns +
                                                  " FROM settlement.payments WHERE " + kKeyWhere,
                                              KeyParams(key)));
  if (r.rows() == 0) {
    return std::optional<PaymentRecord>();
  }
  P402_ASSIGN_OR_RETURN(PaymentRecord record, RecordFromRow(r, 0));
  return std::optional<PaymentRecord>(std::move(record));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgPaymentStore>> PgPaymentStore::Open(store::PgPool& pool) {
  P402_RETURN_IF_ERROR(
      store::Migrate(pool, kSettlementMigrationService, SettlementMigrations()).status());
  return std::make_unique<PgPaymentStore>(pool);
}

absl::StatusOr<std::optional<PaymentRecord>> PgPaymentStore::Claim(const PaymentRecord& p) {
  P402_RETURN_IF_ERROR(CheckChainId(p.key.chain_id));
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::optional<PaymentRecord>> {
        // Each statement runs in its own snapshot: when the insert conflicts, the SELECT sees the
        // committed winner, unless a Release deleted it in between; then the insert runs again.
        for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
          PgParams params = KeyParams(p.key);
          params.insert(
              params.end(),
              {std::string(StateText(PaymentState::kClaimed)), p.claim_owner, p.pay_to, p.amount,
               p.network, Int(p.valid_before), p.tx_hash, p.raw_tx, p.error_reason, p.error_message,
               Int(p.created_unix_ms), Int(p.updated_unix_ms)});
          P402_ASSIGN_OR_RETURN(
              PgResult inserted,
              conn.Exec(std::string("INSERT INTO settlement.payments (") + kColumns +
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                            "$14, $15, $16) ON CONFLICT DO NOTHING",
                        params));
          if (inserted.affected_rows() == 1) {
            return std::optional<PaymentRecord>();
          }
          P402_ASSIGN_OR_RETURN(std::optional<PaymentRecord> existing, SelectRecord(conn, p.key));
          if (existing.has_value()) {
            return existing;
          }
        }
        return Unavailable("payment store: claim kept racing with releases");
      });
}

absl::StatusOr<std::optional<PaymentRecord>> PgPaymentStore::Get(const PaymentKey& key) {
  P402_RETURN_IF_ERROR(CheckChainId(key.chain_id));
  return pool_.WithConnection([&](PgConnection& conn) { return SelectRecord(conn, key); });
}

absl::StatusOr<bool> PgPaymentStore::Transition(const PaymentKey& key, PaymentState expected,
                                                const PaymentRecord& next) {
  P402_RETURN_IF_ERROR(CheckChainId(key.chain_id));
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<bool> {
    PgParams params = KeyParams(key);
    params.insert(params.end(), {std::string(StateText(expected)), StateText(next.state),
                                 next.claim_owner, next.tx_hash, next.raw_tx, next.error_reason,
                                 next.error_message, Int(next.updated_unix_ms)});
    P402_ASSIGN_OR_RETURN(
        PgResult updated,
        conn.Exec(
            std::string("UPDATE settlement.payments SET state = $6,"
                        " claim_owner = CASE WHEN $7::text = '' THEN claim_owner ELSE $7::text END,"
                        " tx_hash = $8, raw_tx = $9, error_reason = $10,"
                        " error_message = $11, updated_unix_ms = $12 WHERE ") +
                kKeyWhere + " AND state = $5",
            params));
    if (updated.affected_rows() == 1) {
      return true;
    }
    P402_ASSIGN_OR_RETURN(
        PgResult found,
        conn.Exec(std::string("SELECT 1 FROM settlement.payments WHERE ") + kKeyWhere,
                  KeyParams(key)));
    if (found.rows() == 0) {
      return NotFound("payment not found");
    }
    return false;
  });
}

absl::StatusOr<bool> PgPaymentStore::Release(const PaymentKey& key, std::string_view claim_owner) {
  P402_RETURN_IF_ERROR(CheckChainId(key.chain_id));
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<bool> {
    PgParams params = KeyParams(key);
    params.push_back(std::string(claim_owner));
    P402_ASSIGN_OR_RETURN(
        PgResult deleted,
        conn.Exec(std::string("DELETE FROM settlement.payments WHERE ") + kKeyWhere +
                      " AND claim_owner = $5"
                      " AND (state = 'claimed' OR (state = 'failed' AND tx_hash = ''))",
                  params));
    return deleted.affected_rows() == 1;
  });
}

absl::StatusOr<std::vector<PaymentRecord>> PgPaymentStore::ListSubmitted(int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return InvalidArgument("limit must be 1.." + std::to_string(kMaxListLimit));
  }
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::vector<PaymentRecord>> {
        P402_ASSIGN_OR_RETURN(
            PgResult r, conn.Exec(std::string("SELECT ") + kColumns +
                                      " FROM settlement.payments WHERE state = 'submitted'"
                                      " ORDER BY created_unix_ms, chain_id, asset, payer, nonce"
                                      " LIMIT $1",
                                  {Int(limit)}));
        std::vector<PaymentRecord> out;
        out.reserve(r.rows());
        for (int row = 0; row < r.rows(); ++row) {
          P402_ASSIGN_OR_RETURN(PaymentRecord record, RecordFromRow(r, row));
          out.push_back(std::move(record));
        }
        return out;
      });
}

}  // namespace p402::settlement
