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
  SessionRecord* session = nullptr;
  if (!draft.session_id.empty()) {
    session = FindSessionLocked(draft.tenant_id, draft.session_id);
    if (session == nullptr) {
      return WithReason(NotFound("session not found"), "session_not_found");
    }
  }
  if (reservations_.contains(draft.id)) {
    return AlreadyExists("reservation id already exists");
  }
  TenantRecord& t = tenant->second;
  ReserveOutcome outcome;
  if (session != nullptr && session->revoked_unix_ms != 0) {
    outcome.session_unavailable = "session_revoked";
    return outcome;
  }
  if (session != nullptr && draft.created_unix_ms >= session->expires_unix_ms) {
    outcome.session_unavailable = "session_expired";
    return outcome;
  }
  // Checked arithmetic: PostgreSQL's bigint raises on overflow (22003 -> InvalidArgument), and
  // this store must behave the same rather than wrap. With a budget, needed <= budget bounds the
  // new `reserved`, so only an unlimited tenant can reach the overflow error.
  // `left` is what remains of the tighter budget (nullopt: no limit at all); the reservation
  // fits when amount <= left.
  auto available = [](MicroUsd budget, MicroUsd spent, MicroUsd reserved) -> MicroUsd {
    const std::optional<MicroUsd> held = AddMoney(spent, reserved);
    return held.has_value() && *held < budget ? budget - *held : 0;
  };
  std::optional<MicroUsd> left;
  if (t.limits.budget_micro_usd > 0) {
    left = available(t.limits.budget_micro_usd, t.spent_micro_usd, t.reserved_micro_usd);
  }
  if (session != nullptr) {
    // A session's budget is always a cap (0 = nothing left to spend), unlike the tenant's.
    const MicroUsd s_left =
        available(session->budget_micro_usd, session->spent_micro_usd, session->reserved_micro_usd);
    left = left.has_value() ? std::min(*left, s_left) : s_left;
  }
  if (left.has_value() && draft.amount_micro_usd > *left) {
    outcome.available_micro_usd = *left;
    return outcome;
  }
  const std::optional<MicroUsd> new_reserved =
      AddMoney(t.reserved_micro_usd, draft.amount_micro_usd);
  if (!new_reserved.has_value()) {
    return InvalidArgument("reservation amount overflows the tenant's counters");
  }
  t.reserved_micro_usd = *new_reserved;
  if (session != nullptr) {
    session->reserved_micro_usd += draft.amount_micro_usd;  // bounded by its budget (above)
  }
  ReservationRecord r = draft;
  r.status = ReservationStatus::kReserved;
  r.provider.clear();
  r.actual_micro_usd = 0;
  r.finalized_unix_ms = 0;
  reservations_.emplace(r.id, r);
  outcome.granted = true;
  outcome.reservation = std::move(r);
  return outcome;
}

absl::StatusOr<CommitOutcome> InMemoryPolicyStore::CommitReservation(
    std::string_view reservation_id, MicroUsd actual_micro_usd, std::string_view provider,
    int64_t now_unix_ms) {
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
  SessionRecord* session =
      r.session_id.empty() ? nullptr : FindSessionLocked(r.tenant_id, r.session_id);
  if (session != nullptr && !AddMoney(session->spent_micro_usd, charged).has_value()) {
    return InvalidArgument("charge overflows the session's spent counter");
  }
  t.spent_micro_usd = *new_spent;
  if (r.status == ReservationStatus::kReserved) {
    t.reserved_micro_usd -= r.amount_micro_usd;
  } else {
    outcome.committed_after_expiry = true;
  }
  if (session != nullptr) {
    // After expiry the session may end above its budget: the money was spent at the provider,
    // and the record says so (PgPolicyStore does the same).
    session->spent_micro_usd += charged;
    if (r.status == ReservationStatus::kReserved) {
      session->reserved_micro_usd -= r.amount_micro_usd;
    }
    if (!provider.empty()) {
      MicroUsd& per_provider = session->provider_spent_micro_usd[std::string(provider)];
      per_provider = AddMoney(per_provider, charged).value_or(per_provider);
    }
  }
  r.provider = std::string(provider);
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
  UnholdLocked(r);
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
        UnholdLocked(r);
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

void InMemoryPolicyStore::UnholdLocked(const ReservationRecord& r) {
  tenants_.at(r.tenant_id).reserved_micro_usd -= r.amount_micro_usd;
  if (!r.session_id.empty()) {
    if (SessionRecord* session = FindSessionLocked(r.tenant_id, r.session_id)) {
      session->reserved_micro_usd -= r.amount_micro_usd;
    }
  }
}

absl::StatusOr<TenantRecord> InMemoryPolicyStore::UpdateTenant(std::string_view tenant_id,
                                                               std::string_view name,
                                                               const TenantLimits& limits) {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(tenant_id));
  if (it == tenants_.end()) {
    return NotFound("tenant not found");
  }
  it->second.name = std::string(name);
  it->second.limits = limits;
  return it->second;
}

absl::StatusOr<TenantRecord> InMemoryPolicyStore::SetTenantPaused(std::string_view tenant_id,
                                                                  bool paused,
                                                                  std::string_view reason) {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(tenant_id));
  if (it == tenants_.end()) {
    return NotFound("tenant not found");
  }
  it->second.paused = paused;
  it->second.pause_reason = paused ? std::string(reason) : std::string();
  return it->second;
}

}  // namespace p402::policy
