// File: tests/services/policy/core/policy_test_util.h
// Fixtures for the policy core tests: an in-memory store that can be switched to "down"
// (every call Unavailable), and a Guard + TenantAdmin over it with a FakeClock.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/tenant_admin.h"
#include "tests/services/policy/fake_clock.h"

namespace p402::policy::testing {

// Forwards to an InMemoryPolicyStore; while set_down(true), every method fails with Unavailable
// (what PgPolicyStore returns when PostgreSQL is unreachable).
class SwitchablePolicyStore final : public PolicyStore {
 public:
  void set_down(bool down) { down_ = down; }
  InMemoryPolicyStore& inner() { return inner_; }

  absl::Status CreateTenant(const TenantRecord& t) override {
    return down_ ? Down() : inner_.CreateTenant(t);
  }
  absl::StatusOr<TenantRecord> GetTenant(std::string_view id) override {
    if (down_) {
      return Down();
    }
    return inner_.GetTenant(id);
  }
  absl::Status CreateApiKey(const ApiKeyRecord& k) override {
    return down_ ? Down() : inner_.CreateApiKey(k);
  }
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(std::string_view h) override {
    if (down_) {
      return Down();
    }
    return inner_.FindApiKeyByHash(h);
  }
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view id) override {
    if (down_) {
      return Down();
    }
    return inner_.ListApiKeys(id);
  }
  absl::StatusOr<ApiKeyRecord> RevokeApiKey(std::string_view id) override {
    if (down_) {
      return Down();
    }
    return inner_.RevokeApiKey(id);
  }
  absl::StatusOr<ReserveOutcome> ReserveBudget(const ReservationRecord& d) override {
    if (down_ || reserve_down_) {
      return Down();
    }
    return inner_.ReserveBudget(d);
  }
  absl::StatusOr<CommitOutcome> CommitReservation(std::string_view id, MicroUsd a,
                                                  int64_t now) override {
    if (down_) {
      return Down();
    }
    return inner_.CommitReservation(id, a, now);
  }
  absl::StatusOr<ReleaseOutcome> ReleaseReservation(std::string_view id, int64_t now) override {
    if (down_) {
      return Down();
    }
    return inner_.ReleaseReservation(id, now);
  }
  absl::StatusOr<ReservationRecord> GetReservation(std::string_view id) override {
    if (down_) {
      return Down();
    }
    return inner_.GetReservation(id);
  }
  absl::StatusOr<int64_t> ExpireReservations(int64_t now) override {
    if (down_) {
      return Down();
    }
    return inner_.ExpireReservations(now);
  }
  // Only ReserveBudget fails (the last, fail-closed layer's store call).
  void set_reserve_down(bool down) { reserve_down_ = down; }

 private:
  static absl::Status Down() { return Unavailable("policy store is down (test)"); }
  InMemoryPolicyStore inner_;
  std::atomic<bool> down_{false};
  std::atomic<bool> reserve_down_{false};
};

// 1 USD, in micro-USD.
inline constexpr MicroUsd kUsd = 1'000'000;

class GuardFixture {
 public:
  explicit GuardFixture(GuardConfig config = {}) : admin_(store_, clock_) {
    auto guard = Guard::Create(store_, clock_, config);
    REQUIRE(guard.ok());
    guard_ = *std::move(guard);
  }

  // Creates tenant `id` with `limits` and returns the id.
  std::string Tenant(const std::string& id, v1::TenantLimits limits = {}) {
    v1::CreateTenantRequest req;
    req.set_id(id);
    *req.mutable_limits() = limits;
    auto created = admin_.CreateTenant(req);
    REQUIRE(created.ok());
    return created->tenant().id();
  }
  // Tenant with a budget (micro-USD).
  std::string TenantWithBudget(const std::string& id, MicroUsd budget) {
    v1::TenantLimits limits;
    limits.set_budget_micro_usd(budget);
    return Tenant(id, limits);
  }
  // Creates an API key for `tenant_id` and returns the CreateApiKey response.
  v1::CreateApiKeyResponse Key(const std::string& tenant_id) {
    v1::CreateApiKeyRequest req;
    req.set_tenant_id(tenant_id);
    req.set_name("test key");
    auto created = admin_.CreateApiKey(req);
    REQUIRE(created.ok());
    return *created;
  }
  MicroUsd Spent(const std::string& tenant_id) { return Get(tenant_id).spent_micro_usd; }
  MicroUsd Reserved(const std::string& tenant_id) { return Get(tenant_id).reserved_micro_usd; }
  TenantRecord Get(const std::string& tenant_id) {
    auto t = store_.inner().GetTenant(tenant_id);
    REQUIRE(t.ok());
    return *t;
  }

  SwitchablePolicyStore& store() { return store_; }
  FakeClock& clock() { return clock_; }
  Guard& guard() { return *guard_; }
  TenantAdmin& admin() { return admin_; }

 private:
  SwitchablePolicyStore store_;
  FakeClock clock_;
  TenantAdmin admin_;
  std::unique_ptr<Guard> guard_;
};

// An Authorize request with an API key and the request's figures.
inline v1::AuthorizeRequest AuthRequest(const std::string& api_key, MicroUsd worst_case,
                                        int64_t max_output_tokens = 0, MicroUsd output_per_mtok = 0,
                                        bool allow_reduction = false) {
  v1::AuthorizeRequest req;
  req.mutable_meta()->set_request_id("req-test");
  req.mutable_credential()->set_api_key(api_key);
  req.set_worst_case_micro_usd(worst_case);
  req.set_max_output_tokens(max_output_tokens);
  req.set_output_per_mtok_micro_usd(output_per_mtok);
  req.set_allow_max_tokens_reduction(allow_reduction);
  return req;
}

inline v1::CommitRequest CommitReq(const std::string& reservation_id, MicroUsd actual) {
  v1::CommitRequest req;
  req.set_reservation_id(reservation_id);
  req.set_actual_micro_usd(actual);
  return req;
}

inline v1::ReleaseRequest ReleaseReq(const std::string& reservation_id) {
  v1::ReleaseRequest req;
  req.set_reservation_id(reservation_id);
  req.set_reason("provider_failed");
  return req;
}

}  // namespace p402::policy::testing
