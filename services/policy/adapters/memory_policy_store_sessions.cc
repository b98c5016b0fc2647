// InMemoryPolicyStore: policies, agent sessions and approvals (tenants, keys and reservations are
// in memory_policy_store.cc). Same contract as PgPolicyStore (core/ports.h).
#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "services/policy/adapters/memory_policy_store.h"

namespace p402::policy {
namespace {

constexpr size_t kMaxApprovalsListed = 500;

absl::Status PolicyNotFound() {
  return WithReason(NotFound("policy not found"), "policy_not_found");
}
absl::Status SessionNotFound() {
  return WithReason(NotFound("session not found"), "session_not_found");
}
absl::Status ApprovalNotFound() {
  return WithReason(NotFound("approval not found"), "approval_not_found");
}

bool TenantMatches(std::string_view wanted, const std::string& owner) {
  return wanted.empty() || wanted == owner;
}

// A pending approval past its expiry becomes kExpired, "decided" at the moment it expired.
void ApplyExpiry(ApprovalRecord& a, int64_t now_unix_ms) {
  if (a.state == ApprovalState::kPending && now_unix_ms >= a.expires_unix_ms) {
    a.state = ApprovalState::kExpired;
    a.decided_unix_ms = a.expires_unix_ms;
  }
}

}  // namespace

// --- policies ---

absl::Status InMemoryPolicyStore::CreatePolicy(const v1::TenantPolicy& policy) {
  absl::MutexLock lock(&mu_);
  if (!tenants_.contains(policy.tenant_id())) {
    return NotFound("tenant not found");
  }
  if (!policies_.emplace(policy.id(), policy).second) {
    return AlreadyExists("policy id already exists");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::GetPolicy(std::string_view tenant_id,
                                                                std::string_view policy_id) {
  absl::MutexLock lock(&mu_);
  auto it = policies_.find(ToAbsl(policy_id));
  if (it == policies_.end() || it->second.tenant_id() != tenant_id) {
    return PolicyNotFound();
  }
  return it->second;
}

absl::StatusOr<std::vector<v1::TenantPolicy>> InMemoryPolicyStore::ListPolicies(
    std::string_view tenant_id) {
  std::vector<v1::TenantPolicy> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, policy] : policies_) {
      if (policy.tenant_id() == tenant_id) {
        out.push_back(policy);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::TenantPolicy& a, const v1::TenantPolicy& b) {
    // Highest priority first, then oldest, then id (as PgPolicyStore's ORDER BY).
    return std::make_tuple(-static_cast<int64_t>(a.priority()), a.created_unix_ms(), a.id()) <
           std::make_tuple(-static_cast<int64_t>(b.priority()), b.created_unix_ms(), b.id());
  });
  return out;
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::UpdatePolicy(const v1::TenantPolicy& policy) {
  absl::MutexLock lock(&mu_);
  auto it = policies_.find(policy.id());
  if (it == policies_.end() || it->second.tenant_id() != policy.tenant_id()) {
    return PolicyNotFound();
  }
  const int64_t created = it->second.created_unix_ms();
  it->second = policy;
  it->second.set_created_unix_ms(created);
  return it->second;
}

absl::StatusOr<v1::TenantPolicy> InMemoryPolicyStore::DeletePolicy(std::string_view tenant_id,
                                                                   std::string_view policy_id) {
  absl::MutexLock lock(&mu_);
  auto it = policies_.find(ToAbsl(policy_id));
  if (it == policies_.end() || it->second.tenant_id() != tenant_id) {
    return PolicyNotFound();
  }
  v1::TenantPolicy deleted = std::move(it->second);
  policies_.erase(it);
  return deleted;
}

// --- agent sessions ---

SessionRecord* InMemoryPolicyStore::FindSessionLocked(std::string_view tenant_id,
                                                      std::string_view session_id) {
  auto it = sessions_.find(ToAbsl(session_id));
  if (it == sessions_.end() || !TenantMatches(tenant_id, it->second.tenant_id)) {
    return nullptr;
  }
  return &it->second;
}

absl::Status InMemoryPolicyStore::CreateSession(const SessionRecord& session) {
  if (session.budget_micro_usd < 0 || session.spent_micro_usd < 0 ||
      session.reserved_micro_usd < 0) {
    return InvalidArgument("session budget and counters must be >= 0");
  }
  absl::MutexLock lock(&mu_);
  if (!tenants_.contains(session.tenant_id)) {
    return NotFound("tenant not found");
  }
  if (sessions_.contains(session.id) || session_id_by_hash_.contains(session.token_hash)) {
    return AlreadyExists("session id or token hash already exists");
  }
  sessions_.emplace(session.id, session);
  session_id_by_hash_.emplace(session.token_hash, session.id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SessionRecord>> InMemoryPolicyStore::FindSessionByTokenHash(
    std::string_view token_hash) {
  absl::MutexLock lock(&mu_);
  auto it = session_id_by_hash_.find(ToAbsl(token_hash));
  if (it == session_id_by_hash_.end()) {
    return std::optional<SessionRecord>();
  }
  return std::optional<SessionRecord>(sessions_.at(it->second));
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::GetSession(std::string_view tenant_id,
                                                              std::string_view session_id) {
  absl::MutexLock lock(&mu_);
  SessionRecord* s = FindSessionLocked(tenant_id, session_id);
  if (s == nullptr) {
    return SessionNotFound();
  }
  return *s;
}

absl::StatusOr<std::vector<SessionRecord>> InMemoryPolicyStore::ListSessions(
    std::string_view tenant_id, std::string_view after_id, int limit) {
  if (limit < 1) {
    return InvalidArgument("limit must be >= 1");
  }
  std::vector<SessionRecord> out;
  absl::MutexLock lock(&mu_);
  std::optional<std::tuple<int64_t, std::string>> after;
  if (!after_id.empty()) {
    const SessionRecord* a = FindSessionLocked(tenant_id, after_id);
    if (a == nullptr || tenant_id.empty()) {
      return InvalidArgument("after_id is not a session of this tenant");
    }
    after.emplace(a->created_unix_ms, a->id);
  }
  for (const auto& [id, s] : sessions_) {
    // Newest first: a page continues with the keys strictly below (created, id) of `after`.
    if (s.tenant_id == tenant_id &&
        (!after.has_value() || std::make_tuple(s.created_unix_ms, s.id) < *after)) {
      out.push_back(s);
    }
  }
  std::sort(out.begin(), out.end(), [](const SessionRecord& a, const SessionRecord& b) {
    return std::tie(a.created_unix_ms, a.id) > std::tie(b.created_unix_ms, b.id);
  });
  if (out.size() > static_cast<size_t>(limit)) {
    out.resize(limit);
  }
  return out;
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::UpdateSession(std::string_view tenant_id,
                                                                 std::string_view session_id,
                                                                 const SessionUpdate& update) {
  if (update.top_up_micro_usd < 0) {
    return InvalidArgument("top-up must be >= 0");
  }
  absl::MutexLock lock(&mu_);
  SessionRecord* s = FindSessionLocked(tenant_id, session_id);
  if (s == nullptr) {
    return SessionNotFound();
  }
  if (s->revoked_unix_ms != 0) {
    return WithReason(FailedPrecondition("session is revoked"), "session_revoked");
  }
  const std::optional<MicroUsd> budget = AddMoney(s->budget_micro_usd, update.top_up_micro_usd);
  if (!budget.has_value()) {
    return InvalidArgument("top-up overflows the session budget");
  }
  s->budget_micro_usd = *budget;
  if (update.expires_unix_ms.has_value()) {
    s->expires_unix_ms = *update.expires_unix_ms;
  }
  if (update.per_request_cap_micro_usd.has_value()) {
    s->per_request_cap_micro_usd = *update.per_request_cap_micro_usd;
  }
  if (update.require_approval_above_micro_usd.has_value()) {
    s->require_approval_above_micro_usd = *update.require_approval_above_micro_usd;
  }
  return *s;
}

absl::StatusOr<SessionRecord> InMemoryPolicyStore::RevokeSession(std::string_view tenant_id,
                                                                 std::string_view session_id,
                                                                 int64_t now_unix_ms) {
  absl::MutexLock lock(&mu_);
  SessionRecord* s = FindSessionLocked(tenant_id, session_id);
  if (s == nullptr) {
    return SessionNotFound();
  }
  if (s->revoked_unix_ms == 0) {
    // A revoked session keeps a non-zero mark even when revoked at the epoch.
    s->revoked_unix_ms = std::max<int64_t>(now_unix_ms, 1);
  }
  return *s;
}

// --- approvals ---

ApprovalRecord* InMemoryPolicyStore::FindApprovalLocked(std::string_view tenant_id,
                                                        std::string_view approval_id,
                                                        int64_t now_unix_ms) {
  auto it = approvals_.find(ToAbsl(approval_id));
  if (it == approvals_.end() || !TenantMatches(tenant_id, it->second.tenant_id)) {
    return nullptr;
  }
  ApplyExpiry(it->second, now_unix_ms);
  return &it->second;
}

absl::Status InMemoryPolicyStore::CreateApproval(const ApprovalRecord& approval) {
  absl::MutexLock lock(&mu_);
  if (!tenants_.contains(approval.tenant_id)) {
    return NotFound("tenant not found");
  }
  ApprovalRecord a = approval;
  a.state = ApprovalState::kPending;
  a.decided_unix_ms = 0;
  a.decision_reason.clear();
  if (!approvals_.emplace(a.id, std::move(a)).second) {
    return AlreadyExists("approval id already exists");
  }
  return absl::OkStatus();
}

absl::StatusOr<ApprovalRecord> InMemoryPolicyStore::GetApproval(std::string_view tenant_id,
                                                                std::string_view approval_id,
                                                                int64_t now_unix_ms) {
  absl::MutexLock lock(&mu_);
  ApprovalRecord* a = FindApprovalLocked(tenant_id, approval_id, now_unix_ms);
  if (a == nullptr) {
    return ApprovalNotFound();
  }
  return *a;
}

absl::StatusOr<std::vector<ApprovalRecord>> InMemoryPolicyStore::ListApprovals(
    std::string_view tenant_id, std::string_view session_id, bool pending_only,
    int64_t now_unix_ms) {
  std::vector<ApprovalRecord> out;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, a] : approvals_) {
      if (a.tenant_id != tenant_id || (!session_id.empty() && a.session_id != session_id)) {
        continue;
      }
      ApplyExpiry(a, now_unix_ms);
      if (!pending_only || a.state == ApprovalState::kPending) {
        out.push_back(a);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const ApprovalRecord& a, const ApprovalRecord& b) {
    return std::tie(a.created_unix_ms, a.id) > std::tie(b.created_unix_ms, b.id);
  });
  if (out.size() > kMaxApprovalsListed) {
    out.resize(kMaxApprovalsListed);
  }
  return out;
}

absl::StatusOr<ApprovalRecord> InMemoryPolicyStore::TransitionApproval(std::string_view tenant_id,
                                                                       std::string_view approval_id,
                                                                       ApprovalState to,
                                                                       std::string_view reason,
                                                                       int64_t now_unix_ms) {
  if (to != ApprovalState::kApproved && to != ApprovalState::kDenied &&
      to != ApprovalState::kUsed) {
    return InvalidArgument("an approval can only be approved, denied or used");
  }
  absl::MutexLock lock(&mu_);
  ApprovalRecord* a = FindApprovalLocked(tenant_id, approval_id, now_unix_ms);
  if (a == nullptr) {
    return ApprovalNotFound();
  }
  if (to == ApprovalState::kUsed) {
    if (a->state != ApprovalState::kApproved) {
      return WithReason(FailedPrecondition("approval is not approved"), "approval_not_approved");
    }
    a->state = ApprovalState::kUsed;  // the decision (time, reason) stays on record
    return *a;
  }
  if (a->state != ApprovalState::kPending) {
    return WithReason(FailedPrecondition("approval is not pending"), "approval_not_pending");
  }
  a->state = to;
  a->decided_unix_ms = now_unix_ms;
  a->decision_reason = std::string(reason);
  return *a;
}

}  // namespace p402::policy
