#include "services/policy/adapters/memory_policy_store.h"

#include <algorithm>
#include <tuple>

#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::policy {
namespace {

absl::Status ReservationNotFound() {
  return WithReason(NotFound("reservation not found"), "reservation_not_found");
}

}  // namespace

absl::Status InMemoryPolicyStore::CreateTenant(const TenantRecord& tenant) {
  absl::MutexLock lock(&mu_);
  if (!tenants_.emplace(tenant.id, tenant).second) {
    return AlreadyExists("tenant already exists");
  }
  return absl::OkStatus();
}

absl::StatusOr<TenantRecord> InMemoryPolicyStore::GetTenant(std::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(tenant_id));
  if (it == tenants_.end()) {
    return NotFound("tenant not found");
  }
  return it->second;
}

absl::Status InMemoryPolicyStore::CreateApiKey(const ApiKeyRecord& key) {
  absl::MutexLock lock(&mu_);
  if (!tenants_.contains(key.tenant_id)) {
    return NotFound("tenant not found");
  }
  if (keys_by_id_.contains(key.id) || key_id_by_hash_.contains(key.key_hash)) {
    return AlreadyExists("API key id or hash already exists");
  }
  keys_by_id_.emplace(key.id, key);
  key_id_by_hash_.emplace(key.key_hash, key.id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ApiKeyRecord>> InMemoryPolicyStore::FindApiKeyByHash(
    std::string_view key_hash) {
  absl::MutexLock lock(&mu_);
  auto it = key_id_by_hash_.find(ToAbsl(key_hash));
  if (it == key_id_by_hash_.end()) {
    return std::optional<ApiKeyRecord>();
  }
  return std::optional<ApiKeyRecord>(keys_by_id_.at(it->second));
}

absl::StatusOr<std::vector<ApiKeyRecord>> InMemoryPolicyStore::ListApiKeys(
    std::string_view tenant_id) {
  std::vector<ApiKeyRecord> keys;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, key] : keys_by_id_) {
      if (key.tenant_id == tenant_id) {
        keys.push_back(key);
      }
    }
  }
  std::sort(keys.begin(), keys.end(), [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
    return std::tie(a.created_unix_ms, a.id) < std::tie(b.created_unix_ms, b.id);
  });
  return keys;
}

absl::StatusOr<ApiKeyRecord> InMemoryPolicyStore::RevokeApiKey(std::string_view key_id) {
  absl::MutexLock lock(&mu_);
  auto it = keys_by_id_.find(ToAbsl(key_id));
  if (it == keys_by_id_.end()) {
    return NotFound("API key not found");
  }
  it->second.revoked = true;
  return it->second;
}

absl::StatusOr<ReserveOutcome> InMemoryPolicyStore::ReserveBudget(const ReservationRecord& draft) {
  if (draft.amount_micro_usd < 0) {
    return InvalidArgument("reservation amount must be >= 0");
  }
  absl::MutexLock lock(&mu_);
  auto tenant = tenants_.find(draft.tenant_id);
  if (tenant == tenants_.end()) {
    return NotFound("tenant not found");
  }
  if (reservations_.contains(draft.id)) {
    return AlreadyExists("reservation id already exists");
  }
  TenantRecord& t = tenant->second;
  ReserveOutcome outcome;
  // Checked arithmetic: PostgreSQL's bigint raises on overflow (22003 -> InvalidArgument), and
  // this store must behave the same rather than wrap. With a budget, needed <= budget bounds the
  // new `reserved`, so only an unlimited tenant can reach the overflow error.
  const MicroUsd budget = t.limits.budget_micro_usd;
  if (budget > 0) {
    const std::optional<MicroUsd> held = AddMoney(t.spent_micro_usd, t.reserved_micro_usd);
    const std::optional<MicroUsd> needed =
        held.has_value() ? AddMoney(*held, draft.amount_micro_usd) : std::nullopt;
    if (!needed.has_value() || *needed > budget) {
      outcome.available_micro_usd = held.has_value() && *held < budget ? budget - *held : 0;
      return outcome;
    }
  }
  const std::optional<MicroUsd> new_reserved =
      AddMoney(t.reserved_micro_usd, draft.amount_micro_usd);
  if (!new_reserved.has_value()) {
    return InvalidArgument("reservation amount overflows the tenant's counters");
  }
  t.reserved_micro_usd = *new_reserved;
  ReservationRecord r = draft;
  r.status = ReservationStatus::kReserved;
  r.actual_micro_usd = 0;
  r.finalized_unix_ms = 0;
  reservations_.emplace(r.id, r);
  outcome.granted = true;
  outcome.reservation = std::move(r);
  return outcome;
}

absl::StatusOr<CommitOutcome> InMemoryPolicyStore::CommitReservation(
    std::string_view reservation_id, MicroUsd actual_micro_usd, std::string_view /*provider*/, int64_t now_unix_ms) {
  if (actual_micro_usd < 0) {
    return InvalidArgument("actual cost must be >= 0");
  }
  absl::MutexLock lock(&mu_);
  auto it = reservations_.find(ToAbsl(reservation_id));
  if (it == reservations_.end()) {
    return ReservationNotFound();
  }
  ReservationRecord& r = it->second;
  CommitOutcome outcome;
  switch (r.status) {
    case ReservationStatus::kCommitted:
      outcome.already_committed = true;
      outcome.reservation = r;
      return outcome;
    case ReservationStatus::kReleased:
      return WithReason(FailedPrecondition("reservation was released; it cannot be committed"),
                        "reservation_released");
    case ReservationStatus::kReserved:
    case ReservationStatus::kExpired:
      break;
  }
  TenantRecord& t = tenants_.at(r.tenant_id);
  const MicroUsd charged = std::min(actual_micro_usd, r.amount_micro_usd);
  const std::optional<MicroUsd> new_spent = AddMoney(t.spent_micro_usd, charged);
  if (!new_spent.has_value()) {
    return InvalidArgument("charge overflows the tenant's spent counter");
  }
  t.spent_micro_usd = *new_spent;
  if (r.status == ReservationStatus::kReserved) {
    t.reserved_micro_usd -= r.amount_micro_usd;
  } else {
    outcome.committed_after_expiry = true;
  }
  r.status = ReservationStatus::kCommitted;
  r.actual_micro_usd = charged;
  r.finalized_unix_ms = now_unix_ms;
  outcome.reservation = r;
  return outcome;
}

absl::StatusOr<ReleaseOutcome> InMemoryPolicyStore::ReleaseReservation(
    std::string_view reservation_id, int64_t now_unix_ms) {
  absl::MutexLock lock(&mu_);
  auto it = reservations_.find(ToAbsl(reservation_id));
  if (it == reservations_.end()) {
    return ReservationNotFound();
  }
  ReservationRecord& r = it->second;
  ReleaseOutcome outcome;
  if (r.status != ReservationStatus::kReserved) {
    outcome.already_finalized = true;
    outcome.reservation = r;
    return outcome;
  }
  tenants_.at(r.tenant_id).reserved_micro_usd -= r.amount_micro_usd;
  r.status = ReservationStatus::kReleased;
  r.finalized_unix_ms = now_unix_ms;
  outcome.reservation = r;
  return outcome;
}

absl::StatusOr<ReservationRecord> InMemoryPolicyStore::GetReservation(
    std::string_view reservation_id) {
  absl::MutexLock lock(&mu_);
  auto it = reservations_.find(ToAbsl(reservation_id));
  if (it == reservations_.end()) {
    return ReservationNotFound();
  }
  return it->second;
}

absl::StatusOr<int64_t> InMemoryPolicyStore::ExpireReservations(int64_t now_unix_ms) {
  absl::MutexLock lock(&mu_);
  int64_t expired = 0;
  const int64_t forget_before = now_unix_ms - finalized_retention_ms_;
  // A linear scan: the in-memory store serves dev mode and tests, where reservations are few; the
  // retention bound keeps the map from growing without limit in a long dev session.
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    ReservationRecord& r = it->second;
    if (r.status == ReservationStatus::kReserved) {
      if (r.expires_unix_ms <= now_unix_ms) {
        tenants_.at(r.tenant_id).reserved_micro_usd -= r.amount_micro_usd;
        r.status = ReservationStatus::kExpired;
        r.finalized_unix_ms = now_unix_ms;
        ++expired;
      }
    } else if (r.finalized_unix_ms < forget_before) {
      reservations_.erase(it++);
      continue;
    }
    ++it;
  }
  return expired;
}

// TODO(p402): issue 3 store work in progress.
absl::StatusOr<TenantRecord> InMemoryPolicyStore::UpdateTenant(std::string_view tenant_id, std::string_view name, const TenantLimits& limits) {
  return absl::UnimplementedError("InMemoryPolicyStore::UpdateTenant: not implemented yet");
}

absl::StatusOr<TenantRecord> InMemoryPolicyStore::SetTenantPaused(std::string_view tenant_id, bool paused, std::string_view reason) {
  return absl::UnimplementedError("InMemoryPolicyStore::SetTenantPaused: not implemented yet");
}

absl::Status InMemoryPolicyStore::CreatePolicy(const v1::TenantPolicy& policy) {
  return absl::UnimplementedError("InMemoryPolicyStore::CreatePolicy: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::GetPolicy(std::string_view tenant_id, std::string_view policy_id) {
  return absl::UnimplementedError("InMemoryPolicyStore::GetPolicy: not implemented yet");
}

absl::StatusOr<std::vector<v1::TenantPolicy>> InMemoryPolicyStore::ListPolicies(std::string_view tenant_id) {
  return absl::UnimplementedError("InMemoryPolicyStore::ListPolicies: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::UpdatePolicy(const v1::TenantPolicy& policy) {
  return absl::UnimplementedError("InMemoryPolicyStore::UpdatePolicy: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::DeletePolicy(std::string_view tenant_id, std::string_view policy_id) {
  return absl::UnimplementedError("InMemoryPolicyStore::DeletePolicy: not implemented yet");
}

absl::Status InMemoryPolicyStore::CreateSession(const SessionRecord& session) {
  return absl::UnimplementedError("InMemoryPolicyStore::CreateSession: not implemented yet");
}

absl::StatusOr<std::optional<SessionRecord>> InMemoryPolicyStore::FindSessionByTokenHash(std::string_view token_hash) {
  return absl::UnimplementedError("InMemoryPolicyStore::FindSessionByTokenHash: not implemented yet");
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::GetSession(std::string_view tenant_id, std::string_view session_id) {
  return absl::UnimplementedError("InMemoryPolicyStore::GetSession: not implemented yet");
}

absl::StatusOr<std::vector<SessionRecord>> InMemoryPolicyStore::ListSessions(std::string_view tenant_id, std::string_view after_id, int limit) {
  return absl::UnimplementedError("InMemoryPolicyStore::ListSessions: not implemented yet");
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::UpdateSession(std::string_view tenant_id, std::string_view session_id, const SessionUpdate& update) {
  return absl::UnimplementedError("InMemoryPolicyStore::UpdateSession: not implemented yet");
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::RevokeSession(std::string_view tenant_id, std::string_view session_id, int64_t now_unix_ms) {
  return absl::UnimplementedError("InMemoryPolicyStore::RevokeSession: not implemented yet");
}

absl::Status InMemoryPolicyStore::CreateApproval(const ApprovalRecord& approval) {
  return absl::UnimplementedError("InMemoryPolicyStore::CreateApproval: not implemented yet");
}

absl::StatusOr<ApprovalRecord> InMemoryPolicyStore::GetApproval(std::string_view tenant_id, std::string_view approval_id, int64_t now_unix_ms) {
  return absl::UnimplementedError("InMemoryPolicyStore::GetApproval: not implemented yet");
}

absl::StatusOr<std::vector<ApprovalRecord>> InMemoryPolicyStore::ListApprovals(std::string_view tenant_id, std::string_view session_id, bool pending_only, int64_t now_unix_ms) {
  return absl::UnimplementedError("InMemoryPolicyStore::ListApprovals: not implemented yet");
}

absl::StatusOr<ApprovalRecord> InMemoryPolicyStore::TransitionApproval(std::string_view tenant_id, std::string_view approval_id, ApprovalState to, std::string_view reason, int64_t now_unix_ms) {
  return absl::UnimplementedError("InMemoryPolicyStore::TransitionApproval: not implemented yet");
}

}  // namespace p402::policy
