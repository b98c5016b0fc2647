#include "services/settlement/adapters/pg_bazaar_store.h"

#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "libs/store/migrate.h"
#include "services/settlement/adapters/pg_rows.h"
#include "services/settlement/adapters/settlement_migrations.h"
#include "services/settlement/core/bazaar.h"

namespace p402::settlement {
namespace {

using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgResult;

// Capabilities travel as a JSON array of strings both ways, which sidesteps the quoting rules of
// PostgreSQL's array literals.
constexpr char kSelect[] =
    "SELECT seq, id, tenant_id, provider, name, description,"
    " to_json(capabilities)::text AS capabilities_json, price_micro_usd, pricing_model, endpoint,"
    " network, asset, pay_to, settled_count, failed_count, volume_micro_usd, created_unix_ms"
    " FROM settlement.listings";

absl::StatusOr<v1::Listing> ListingFromRow(const PgResult& r, int row) {
  v1::Listing l;
  P402_ASSIGN_OR_RETURN(*l.mutable_id(), Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(*l.mutable_tenant_id(), Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(*l.mutable_provider(), Text(r, row, "provider"));
  P402_ASSIGN_OR_RETURN(*l.mutable_name(), Text(r, row, "name"));
  P402_ASSIGN_OR_RETURN(*l.mutable_description(), Text(r, row, "description"));
  P402_ASSIGN_OR_RETURN(std::string caps_json, Text(r, row, "capabilities_json"));
  absl::StatusOr<json::Value> caps = json::Value::Parse(caps_json);
  if (!caps.ok() || !caps->is_array()) {
    return Internal("settlement store: listing capabilities do not parse");
  }
  for (const json::Value& c : caps->AsArray()) {
    if (!c.is_string()) {
      return Internal("settlement store: listing capabilities do not parse");
    }
    l.add_capabilities(c.AsString());
  }
  P402_ASSIGN_OR_RETURN(int64_t price, r.GetInt64(row, "price_micro_usd"));
  l.set_price_micro_usd(price);
  P402_ASSIGN_OR_RETURN(*l.mutable_pricing_model(), Text(r, row, "pricing_model"));
  P402_ASSIGN_OR_RETURN(*l.mutable_endpoint(), Text(r, row, "endpoint"));
  P402_ASSIGN_OR_RETURN(*l.mutable_network(), Text(r, row, "network"));
  P402_ASSIGN_OR_RETURN(*l.mutable_asset(), Text(r, row, "asset"));
  P402_ASSIGN_OR_RETURN(*l.mutable_pay_to(), Text(r, row, "pay_to"));
  P402_ASSIGN_OR_RETURN(int64_t settled, r.GetInt64(row, "settled_count"));
  P402_ASSIGN_OR_RETURN(int64_t failed, r.GetInt64(row, "failed_count"));
  l.set_settled_count(settled);
  l.set_failed_count(failed);
  l.set_reliability_bps(ReliabilityBps(settled, failed));
  P402_ASSIGN_OR_RETURN(int64_t volume, r.GetInt64(row, "volume_micro_usd"));
  l.set_volume_micro_usd(volume);
  P402_ASSIGN_OR_RETURN(int64_t created, r.GetInt64(row, "created_unix_ms"));
  l.set_created_unix_ms(created);
  return l;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgBazaarStore>> PgBazaarStore::Open(store::PgPool& pool) {
  P402_RETURN_IF_ERROR(
      store::Migrate(pool, kSettlementMigrationService, SettlementMigrations()).status());
  return std::make_unique<PgBazaarStore>(pool);
}

absl::Status PgBazaarStore::Create(const v1::Listing& l) {
  if (l.id().empty()) {
    return InvalidArgument("listing needs an id");
  }
  json::Value caps = json::Value::EmptyArray();
  for (const std::string& c : l.capabilities()) {
    caps.Push(json::Value(c));
  }
  absl::Status s = pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(
            "INSERT INTO settlement.listings (id, tenant_id, provider, name, description,"
            " capabilities, price_micro_usd, pricing_model, endpoint, network, asset, pay_to,"
            " settled_count, failed_count, volume_micro_usd, created_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5,"
            " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7, $8, $9, $10, $11, $12,"
            " $13, $14, $15, $16)",
            {l.id(), l.tenant_id(), l.provider(), l.name(), l.description(), caps.Serialize(),
             Int(l.price_micro_usd()), l.pricing_model(), l.endpoint(), l.network(), l.asset(),
             l.pay_to(), Int(l.settled_count()), Int(l.failed_count()), Int(l.volume_micro_usd()),
             Int(l.created_unix_ms())})
        .status();
  });
  if (absl::IsAlreadyExists(s)) {
    return AlreadyExists("listing already exists");
  }
  return s;
}

absl::StatusOr<v1::ListListingsResponse> PgBazaarStore::List(std::string_view page_token,
                                                             int page_size) {
  if (page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page_size must be 1.." + std::to_string(kMaxPageSize));
  }
  P402_ASSIGN_OR_RETURN(const int64_t after_seq, pg_rows::ParseSeqToken(page_token));
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<v1::ListListingsResponse> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec(std::string(kSelect) + " WHERE seq > $1 ORDER BY seq LIMIT $2",
                                    {Int(after_seq), Int(page_size + 1)}));
    v1::ListListingsResponse page;
    const int n = r.rows() > page_size ? page_size : r.rows();
    for (int row = 0; row < n; ++row) {
      P402_ASSIGN_OR_RETURN(*page.add_listings(), ListingFromRow(r, row));
    }
    if (r.rows() > page_size) {
      P402_ASSIGN_OR_RETURN(const int64_t last_seq, r.GetInt64(page_size - 1, "seq"));
      page.set_next_page_token(std::to_string(last_seq));
    }
    return page;
  });
}

absl::StatusOr<std::vector<v1::Listing>> PgBazaarStore::All() {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<std::vector<v1::Listing>> {
    P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string(kSelect) + " ORDER BY seq LIMIT $1",
                                                {Int(kMaxListings)}));
    std::vector<v1::Listing> out;
    out.reserve(r.rows());
    for (int row = 0; row < r.rows(); ++row) {
      P402_ASSIGN_OR_RETURN(v1::Listing l, ListingFromRow(r, row));
      out.push_back(std::move(l));
    }
    return out;
  });
}

absl::Status PgBazaarStore::RecordOutcome(std::string_view pay_to, bool settled,
                                          int64_t amount_micro_usd) {
  if (amount_micro_usd < 0) return absl::InvalidArgumentError("amount_micro_usd is negative");
  return pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    // lower() on both sides: ASCII case-folding is all an 0x address needs, and the expression
    // matches listings_pay_to_idx.
    if (settled) {
      return conn
          .Exec("UPDATE settlement.listings SET settled_count = settled_count + 1,"
                " volume_micro_usd = volume_micro_usd + $2::bigint"
                " WHERE lower(pay_to) = lower($1)",
                {std::string(pay_to), std::to_string(amount_micro_usd)})
          .status();
    }
    return conn
        .Exec("UPDATE settlement.listings SET failed_count = failed_count + 1"
              " WHERE lower(pay_to) = lower($1)",
              {std::string(pay_to)})
        .status();
  });
}

}  // namespace p402::settlement
