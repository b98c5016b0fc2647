// PostgreSQL-specific behaviour of PgPolicyStore: migrations, no secret at rest, the guard end to
// end over the database, outage handling and concurrent expiry sweeps from two processes.
#include "services/policy/adapters/pg_policy_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_macros.h"
#include "libs/crypto/sha256.h"
#include "services/policy/adapters/policy_migrations.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/reservation_layer.h"
#include "services/policy/core/tenant_admin.h"
#include "tests/services/policy/adapters/store_test_env.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/services/policy/guard_deps.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::MakePolicyTestPool;
using testing::PgStoreEnv;
using testing::UniqueId;

constexpr MicroUsd kUsd = 1'000'000;

int64_t QueryInt(store::PgPool& pool, const std::string& sql, const store::PgParams& params) {
  auto n = pool.WithConnection([&](store::PgConnection& c) -> absl::StatusOr<int64_t> {
    P402_ASSIGN_OR_RETURN(store::PgResult r, c.Exec(sql, params));
    return r.GetInt64(0, 0);
  });
  REQUIRE_THAT(n.status(), IsOk());
  return *n;
}

// A loopback port nobody listens on (bound to port 0, then closed).
int ClosedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_CASE("PgPolicyStore::Open migrates once and is safe to repeat", "[service][policy]") {
  auto pool = MakePolicyTestPool(2);
  REQUIRE_THAT(PgPolicyStore::Open(*pool).status(), IsOk());
  REQUIRE_THAT(PgPolicyStore::Open(*pool).status(), IsOk());
  CHECK(QueryInt(*pool, "SELECT count(*) FROM schema_migrations WHERE service = $1",
                 {std::string(kPolicyMigrationService)}) ==
        static_cast<int64_t>(PolicyMigrations().size()));
  CHECK(QueryInt(*pool,
                 "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'policy'"
                 " AND table_name IN ('tenants', 'api_keys', 'reservations')",
                 {}) == 3);
}

TEST_CASE("The guard over PostgreSQL stores only key hashes and admits by hash",
          "[service][policy]") {
  PgStoreEnv env;
  testing::FakeClock clock;
  TenantAdmin admin(env.first(), clock);
  testing::GuardTestDeps deps(env.second(), clock);
  auto guard = Guard::Create(deps.deps(), GuardConfig{});
  REQUIRE_THAT(guard.status(), IsOk());

  v1::CreateTenantRequest t;
  t.set_id(UniqueId("g"));
  t.mutable_limits()->set_budget_micro_usd(5 * kUsd);
  REQUIRE_THAT(admin.CreateTenant(t).status(), IsOk());
  v1::CreateApiKeyRequest k;
  k.set_tenant_id(t.id());
  auto key = admin.CreateApiKey(k);
  REQUIRE_THAT(key.status(), IsOk());
  const std::string secret = key->secret();

  // Every column of every row, as text: the secret appears nowhere, its hash exactly once.
  const std::string everything =
      "SELECT count(*) FROM policy.api_keys k WHERE position($1 in k::text) > 0";
  CHECK(QueryInt(*env.pool_a, everything, {secret}) == 0);
  CHECK(QueryInt(*env.pool_a, everything, {secret.substr(8)}) == 0);  // nor its random part
  CHECK(QueryInt(*env.pool_a, "SELECT count(*) FROM policy.api_keys WHERE key_hash = $1",
                 {crypto::Sha256Hex(secret)}) == 1);

  v1::AuthorizeRequest req;
  req.mutable_credential()->set_api_key(secret);
  req.set_worst_case_micro_usd(3 * kUsd);
  auto ok = (*guard)->Authorize(req);
  REQUIRE_THAT(ok.status(), IsOk());
  REQUIRE(ok->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(ok->tenant_id() == t.id());
  auto denied = (*guard)->Authorize(req);
  REQUIRE_THAT(denied.status(), IsOk());
  CHECK(denied->decision() == v1::GUARD_DECISION_DENY_BUDGET);

  v1::CommitRequest commit;
  commit.set_reservation_id(ok->reservation().id());
  commit.set_actual_micro_usd(1'500'000);
  auto c = (*guard)->Commit(commit);
  REQUIRE_THAT(c.status(), IsOk());
  CHECK(c->charged_micro_usd() == 1'500'000);
  v1::GetTenantRequest get;
  get.set_tenant_id(t.id());
  auto tenant = admin.GetTenant(get);
  REQUIRE_THAT(tenant.status(), IsOk());
  CHECK(tenant->tenant().spent_micro_usd() == 1'500'000);
  CHECK(tenant->tenant().reserved_micro_usd() == 0);
}

TEST_CASE("PgPolicyStore reports an unreachable database as Unavailable", "[service][policy]") {
  store::PgPoolOptions options;
  options.dsn =
      "postgresql://postgres@127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/p402_test";
  options.min_size = 0;
  options.max_size = 1;
  options.connect.connect_timeout_seconds = 2;
  auto pool = store::PgPool::Create(std::move(options));
  REQUIRE_THAT(pool.status(), IsOk());
  PgPolicyStore store(**pool);
  CHECK_THAT(store.GetTenant("acme").status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(store.FindApiKeyByHash(std::string(64, 'a')).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  ReservationRecord draft;
  draft.id = NewReservationId();
  draft.tenant_id = "acme";
  draft.amount_micro_usd = 1;
  CHECK_THAT(store.ReserveBudget(draft).status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(store.CommitReservation(draft.id, 1, "", 0).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(store.ExpireReservations(0).status(), StatusIs(absl::StatusCode::kUnavailable));

  // Through the guard: Unavailable, so the edge fails closed.
  testing::FakeClock clock;
  testing::GuardTestDeps deps(store, clock);
  auto guard = Guard::Create(deps.deps(), GuardConfig{});
  REQUIRE_THAT(guard.status(), IsOk());
  v1::AuthorizeRequest req;
  req.mutable_credential()->set_api_key("sk-p402-whatever");
  CHECK_THAT((*guard)->Authorize(req).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_CASE("Concurrent expiry sweeps from two processes expire each reservation once",
          "[service][policy]") {
  PgStoreEnv env;
  // Times far before any other test's reservations, so this test's sweeps touch only its own.
  constexpr int64_t kBase = 1'000'000;
  constexpr int kCount = 2 * PgPolicyStore::kExpireBatch + 37;  // several batches
  constexpr MicroUsd kAmount = 1'001;
  TenantRecord t;
  t.id = UniqueId("x");
  t.name = t.id;
  REQUIRE_THAT(env.first().CreateTenant(t), IsOk());
  std::vector<std::string> ids;
  for (int i = 0; i < kCount; ++i) {
    ReservationRecord draft;
    draft.id = NewReservationId();
    draft.tenant_id = t.id;
    draft.amount_micro_usd = kAmount;
    draft.created_unix_ms = kBase;
    draft.expires_unix_ms = kBase + i % 7;
    auto out = env.first().ReserveBudget(draft);
    REQUIRE_THAT(out.status(), IsOk());
    REQUIRE(out->granted);
    ids.push_back(draft.id);
  }
  // (No check of `reserved` here: a concurrent test process's sweep at a later time may
  // legitimately expire some of these already; the assertions below hold either way.)

  std::atomic<int> errors{0};
  std::latch start(4);
  std::vector<std::thread> sweepers;
  for (int i = 0; i < 4; ++i) {
    sweepers.emplace_back([&, i] {
      start.arrive_and_wait();
      PolicyStore& store = i % 2 == 0 ? env.first() : env.second();
      if (!store.ExpireReservations(kBase + 10).ok()) {
        ++errors;
      }
    });
  }
  for (auto& s : sweepers) {
    s.join();
  }
  CHECK(errors == 0);
  // A double expiry would drive `reserved` below zero (rejected by a CHECK constraint) or below
  // the right figure; a missed one would leave it above zero.
  CHECK(env.first().GetTenant(t.id)->reserved_micro_usd == 0);
  CHECK(QueryInt(*env.pool_a,
                 "SELECT count(*) FROM policy.reservations WHERE tenant_id = $1"
                 " AND status = 'expired'",
                 {t.id}) == kCount);
}

}  // namespace
}  // namespace p402::policy
