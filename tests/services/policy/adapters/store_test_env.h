// File: tests/services/policy/adapters/store_test_env.h
// The two PolicyStore implementations behind one interface, so the store contract tests run
// unchanged against both (Catch2 TEMPLATE_TEST_CASE over MemoryStoreEnv and PgStoreEnv).
// Each env offers two store handles: for PostgreSQL they sit on two separate PgPools, standing in
// for two policy processes sharing the database; in memory both are the same object.
// Ids are unique per process and run, so concurrent test processes can share one database.
#pragma once

#include <unistd.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "libs/store/pg_pool.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "tests/support/test_env.h"

namespace p402::policy::testing {

// "<prefix>_<pid>_<random>_<n>": unique across processes sharing a database, valid as a tenant id.
inline std::string UniqueId(std::string_view prefix) {
  static std::atomic<int> counter{0};
  static const std::string salt = crypto::HexEncode(crypto::RandomBytes(4));
  return std::string(prefix) + "_" + std::to_string(::getpid()) + "_" + salt + "_" +
         std::to_string(counter.fetch_add(1));
}

inline std::string UniqueKeyHash() { return crypto::Sha256Hex(crypto::RandomBytes(32)); }

inline std::unique_ptr<store::PgPool> MakePolicyTestPool(int max_size) {
  store::PgPoolOptions options;
  options.dsn = p402::testing::RequirePostgresDsn();
  options.min_size = 0;
  options.max_size = max_size;
  options.acquire_timeout = std::chrono::milliseconds(10'000);
  options.connect.application_name = "p402_policy_store_test";
  auto pool = store::PgPool::Create(std::move(options));
  REQUIRE(pool.ok());
  return *std::move(pool);
}

struct MemoryStoreEnv {
  static constexpr const char* kName = "memory";
  InMemoryPolicyStore store;
  PolicyStore& first() { return store; }
  PolicyStore& second() { return store; }
};

struct PgStoreEnv {
  static constexpr const char* kName = "postgres";
  std::unique_ptr<store::PgPool> pool_a = MakePolicyTestPool(16);
  std::unique_ptr<store::PgPool> pool_b = MakePolicyTestPool(16);
  std::unique_ptr<PgPolicyStore> store_a = Open(*pool_a);
  std::unique_ptr<PgPolicyStore> store_b = std::make_unique<PgPolicyStore>(*pool_b);
  PolicyStore& first() { return *store_a; }
  PolicyStore& second() { return *store_b; }

  static std::unique_ptr<PgPolicyStore> Open(store::PgPool& pool) {
    auto s = PgPolicyStore::Open(pool);
    if (!s.ok()) {
      FAIL("PgPolicyStore::Open failed: " << s.status().ToString());
    }
    return *std::move(s);
  }
};

}  // namespace p402::policy::testing
