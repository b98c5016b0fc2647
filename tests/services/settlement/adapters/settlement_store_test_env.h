// File: tests/services/settlement/adapters/settlement_store_test_env.h
// The in-memory and PostgreSQL settlement stores behind one shape, so the contract tests
// (*_contract_test.cc) run unchanged against both (Catch2 TEMPLATE_TEST_CASE over MemoryEnv and
// PgEnv). Each env offers two handles per port: for PostgreSQL they sit on two separate PgPools,
// standing in for two settlement processes sharing the database; in memory both are one object.
// Tests name everything with UniqueId (pid + random salt + counter), so concurrent and repeated
// runs can share one database; PgEnv deletes the rows carrying this run's ids when it goes away,
// so nothing (e.g. a fake "submitted" payment) is left for other tests sharing the database.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "catch2/catch.hpp"
#include "libs/common/clock.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/store/pg_pool.h"
#include "services/settlement/adapters/memory_bazaar_store.h"
#include "services/settlement/adapters/memory_ledger.h"
#include "services/settlement/adapters/memory_payment_store.h"
#include "services/settlement/adapters/pg_bazaar_store.h"
#include "services/settlement/adapters/pg_ledger.h"
#include "services/settlement/adapters/pg_payment_store.h"
#include "tests/support/test_env.h"

namespace p402::settlement::testing {

// Prefix shared by every id this test process makes ("sst_<pid>_<salt>_").
inline const std::string& RunPrefix() {
  static const std::string prefix =
      "sst_" + std::to_string(::getpid()) + "_" + crypto::HexEncode(crypto::RandomBytes(4)) + "_";
  return prefix;
}

// RunPrefix() + `what` + "_" + n: unique across processes sharing a database.
inline std::string UniqueId(std::string_view what) {
  static std::atomic<int> counter{0};
  return RunPrefix() + std::string(what) + "_" + std::to_string(counter.fetch_add(1));
}

// "0x" + 2 * bytes random lowercase hex (addresses: 20, nonces / hashes: 32).
inline std::string RandomHex(size_t bytes) {
  return "0x" + crypto::HexEncode(crypto::RandomBytes(bytes));
}

// A clock standing still at a settable time.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_ms) : ms_(unix_ms) {}
  void Set(int64_t unix_ms) { ms_.store(unix_ms); }
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }

 private:
  std::atomic<int64_t> ms_;
};

inline constexpr int64_t kClockStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

inline std::unique_ptr<store::PgPool> MakeSettlementTestPool(int max_size) {
  store::PgPoolOptions options;
  options.dsn = p402::testing::RequirePostgresDsn();
  options.min_size = 0;
  options.max_size = max_size;
  options.acquire_timeout = std::chrono::milliseconds(20'000);
  options.connect.application_name = "p402_settlement_store_test";
  auto pool = store::PgPool::Create(std::move(options));
  REQUIRE(pool.ok());
  return *std::move(pool);
}

struct MemoryEnv {
  static constexpr const char* kName = "memory";
  static constexpr bool kShared = false;  // other processes never see these stores
  FixedClock clock{kClockStart};
  InMemoryPaymentStore payments;
  InMemoryLedger ledger{clock};
  InMemoryBazaarStore bazaar;
  PaymentStore& payments_a() { return payments; }
  PaymentStore& payments_b() { return payments; }
  Ledger& ledger_a() { return ledger; }
  Ledger& ledger_b() { return ledger; }
  BazaarStore& bazaar_a() { return bazaar; }
  BazaarStore& bazaar_b() { return bazaar; }
};

struct PgEnv {
  static constexpr const char* kName = "postgres";
  static constexpr bool kShared = true;  // the database may hold rows of other tests
  FixedClock clock{kClockStart};
  std::unique_ptr<store::PgPool> pool_a = MakeSettlementTestPool(20);
  std::unique_ptr<store::PgPool> pool_b = MakeSettlementTestPool(20);
  // Open applies the migrations once per env (idempotent); the rest are plain constructors.
  std::unique_ptr<PgPaymentStore> payments_first = Opened(PgPaymentStore::Open(*pool_a));
  std::unique_ptr<PgPaymentStore> payments_second = std::make_unique<PgPaymentStore>(*pool_b);
  std::unique_ptr<PgLedger> ledger_first = Opened(PgLedger::Open(*pool_a, clock));
  std::unique_ptr<PgLedger> ledger_second = std::make_unique<PgLedger>(*pool_b, clock);
  std::unique_ptr<PgBazaarStore> bazaar_first = Opened(PgBazaarStore::Open(*pool_a));
  std::unique_ptr<PgBazaarStore> bazaar_second = std::make_unique<PgBazaarStore>(*pool_b);

  PaymentStore& payments_a() { return *payments_first; }
  PaymentStore& payments_b() { return *payments_second; }
  Ledger& ledger_a() { return *ledger_first; }
  Ledger& ledger_b() { return *ledger_second; }
  BazaarStore& bazaar_a() { return *bazaar_first; }
  BazaarStore& bazaar_b() { return *bazaar_second; }

  // Deletes the rows named with this run's ids (claim owners, tenants).
  ~PgEnv() {
    const std::string prefix = RunPrefix();
    absl::Status s = pool_a->WithConnection([&](store::PgConnection& conn) -> absl::Status {
      for (const char* sql :
           {"DELETE FROM settlement.payments WHERE left(claim_owner, length($1)) = $1",
            "DELETE FROM settlement.ledger_entries WHERE left(tenant_id, length($1)) = $1",
            "DELETE FROM settlement.balances WHERE left(tenant_id, length($1)) = $1",
            "DELETE FROM settlement.listings WHERE left(tenant_id, length($1)) = $1"}) {
        absl::Status st = conn.Exec(sql, {prefix}).status();
        if (!st.ok()) {
          return st;
        }
      }
      return absl::OkStatus();
    });
    CHECK(s.ok());
  }

  template <typename T>
  static std::unique_ptr<T> Opened(absl::StatusOr<std::unique_ptr<T>> opened) {
    if (!opened.ok()) {
      FAIL("Open failed: " << opened.status().ToString());
    }
    return *std::move(opened);
  }
};

}  // namespace p402::settlement::testing
