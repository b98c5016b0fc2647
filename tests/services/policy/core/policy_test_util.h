// File: tests/services/policy/core/policy_test_util.h
// Fixtures for the policy core tests: an in-memory store that can be switched to "down"
// (every call Unavailable), and a Guard + the management cores over it with a FakeClock.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/policy_admin.h"
#include "services/policy/core/session_admin.h"
#include "services/policy/core/tenant_admin.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/services/policy/guard_deps.h"

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
                                                  std::string_view provider,
                                                  int64_t now) override {
    if (down_) {
      return Down();
    }
    return inner_.CommitReservation(id, a, provider, now);
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
  absl::StatusOr<TenantRecord> UpdateTenant(std::string_view tenant_id, std::string_view name, const TenantLimits& limits) override {
    if (down_) {
      return Down();
    }
    return inner_.UpdateTenant(tenant_id, name, limits);
  }
  absl::StatusOr<TenantRecord> SetTenantPaused(std::string_view tenant_id, bool paused, std::string_view reason) override {
    if (down_) {
      return Down();
    }
    return inner_.SetTenantPaused(tenant_id, paused, reason);
  }
  absl::Status CreatePolicy(const v1::TenantPolicy& policy) override {
    if (down_) {
      return Down();
    }
    return inner_.CreatePolicy(policy);
  }
  absl::StatusOr<v1::TenantPolicy> GetPolicy(std::string_view tenant_id, std::string_view policy_id) override {
    if (down_) {
      return Down();
    }
    return inner_.GetPolicy(tenant_id, policy_id);
  }
  absl::StatusOr<std::vector<v1::TenantPolicy>> ListPolicies(std::string_view tenant_id) override {
    if (down_) {
      return Down();
    }
    return inner_.ListPolicies(tenant_id);
  }
  absl::StatusOr<v1::TenantPolicy> UpdatePolicy(const v1::TenantPolicy& policy) override {
    if (down_) {
      return Down();
    }
    return inner_.UpdatePolicy(policy);
  }
  absl::StatusOr<v1::TenantPolicy> DeletePolicy(std::string_view tenant_id, std::string_view policy_id) override {
    if (down_) {
      return Down();
    }
    return inner_.DeletePolicy(tenant_id, policy_id);
  }
  absl::Status CreateSession(const SessionRecord& session) override {
    if (down_) {
      return Down();
    }
    return inner_.CreateSession(session);
  }
  absl::StatusOr<std::optional<SessionRecord>> FindSessionByTokenHash(std::string_view token_hash) override {
    if (down_) {
      return Down();
    }
    return inner_.FindSessionByTokenHash(token_hash);
  }
  absl::StatusOr<SessionRecord> GetSession(std::string_view tenant_id, std::string_view session_id) override {
    if (down_) {
      return Down();
    }
    return inner_.GetSession(tenant_id, session_id);
  }
  absl::StatusOr<std::vector<SessionRecord>> ListSessions(std::string_view tenant_id, std::string_view after_id, int limit) override {
    if (down_) {
      return Down();
    }
    return inner_.ListSessions(tenant_id, after_id, limit);
  }
  absl::StatusOr<SessionRecord> UpdateSession(std::string_view tenant_id, std::string_view session_id, const SessionUpdate& update) override {
    if (down_) {
      return Down();
    }
    return inner_.UpdateSession(tenant_id, session_id, update);
  }
  absl::StatusOr<SessionRecord> RevokeSession(std::string_view tenant_id, std::string_view session_id, int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.RevokeSession(tenant_id, session_id, now_unix_ms);
  }
  absl::Status CreateApproval(const ApprovalRecord& approval) override {
    if (down_) {
      return Down();
    }
    return inner_.CreateApproval(approval);
  }
  absl::StatusOr<ApprovalRecord> GetApproval(std::string_view tenant_id, std::string_view approval_id, int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.GetApproval(tenant_id, approval_id, now_unix_ms);
  }
  absl::StatusOr<std::vector<ApprovalRecord>> ListApprovals(std::string_view tenant_id, std::string_view session_id, bool pending_only, int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.ListApprovals(tenant_id, session_id, pending_only, now_unix_ms);
  }
  absl::StatusOr<ApprovalRecord> TransitionApproval(std::string_view tenant_id, std::string_view approval_id, ApprovalState to, std::string_view reason, int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.TransitionApproval(tenant_id, approval_id, to, reason, now_unix_ms);
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

// A Guard with its default layers over a SwitchablePolicyStore, switchable in-memory counters, a
// recording alert sink, a policy cache (TTL 0: every Authorize reads the policies) and a kill
// switch, plus the management cores over the same store.
class GuardFixture {
 public:
  explicit GuardFixture(GuardConfig config = {})
      : deps_(store_, clock_),
        admin_(store_, clock_),
        policy_admin_(store_, clock_, deps_.cache()),
        session_admin_(store_, clock_) {
    auto guard = Guard::Create(deps_.deps(), config);
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
  PolicyAdmin& policy_admin() { return policy_admin_; }
  SessionAdmin& session_admin() { return session_admin_; }
  SwitchableCounterStore& counters() { return deps_.counters(); }
  RecordingAlertSink& alerts() { return deps_.alerts(); }

 private:
  SwitchablePolicyStore store_;
  FakeClock clock_;
  GuardTestDeps deps_;
  TenantAdmin admin_;
  PolicyAdmin policy_admin_;
  SessionAdmin session_admin_;
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
