#include "services/policy/core/session_admin.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "services/policy/core/session_rules.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 500;
constexpr size_t kMaxDecisionReasonBytes = 256;

absl::Status TenantNotFound(std::string_view id) {
  return WithReason(NotFound("tenant '" + std::string(id) + "' not found"), "tenant_not_found");
}
absl::Status SessionNotFound(std::string_view id) {
  return WithReason(NotFound("session '" + std::string(id) + "' not found"), "session_not_found");
}
absl::Status ApprovalNotFound(std::string_view id) {
  return WithReason(NotFound("approval '" + std::string(id) + "' not found"), "approval_not_found");
}

// Maps the store's NotFound for a session to our reason; other errors pass through.
absl::Status SessionError(const absl::Status& status, std::string_view session_id) {
  return absl::IsNotFound(status) ? SessionNotFound(session_id) : status;
}

absl::Status ApprovalError(const absl::Status& status, std::string_view approval_id) {
  return absl::IsNotFound(status) ? ApprovalNotFound(approval_id) : status;
}

absl::Status ValidateSessionRef(std::string_view tenant_id, std::string_view session_id) {
  P402_RETURN_IF_ERROR(ValidateTenantId(tenant_id));
  return ValidateOpaqueId(session_id, "session_id");
}

std::string Lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

v1::SessionStatus StatusOf(SessionState state) {
  switch (state) {
    case SessionState::kActive:
      return v1::SESSION_STATUS_ACTIVE;
    case SessionState::kExhausted:
      return v1::SESSION_STATUS_EXHAUSTED;
    case SessionState::kExpired:
      return v1::SESSION_STATUS_EXPIRED;
    case SessionState::kRevoked:
      return v1::SESSION_STATUS_REVOKED;
  }
  return v1::SESSION_STATUS_UNSPECIFIED;
}

v1::ApprovalStatus StatusOf(ApprovalState state) {
  switch (state) {
    case ApprovalState::kPending:
      return v1::APPROVAL_STATUS_PENDING;
    case ApprovalState::kApproved:
      return v1::APPROVAL_STATUS_APPROVED;
    case ApprovalState::kDenied:
      return v1::APPROVAL_STATUS_DENIED;
    case ApprovalState::kExpired:
      return v1::APPROVAL_STATUS_EXPIRED;
    case ApprovalState::kUsed:
      return v1::APPROVAL_STATUS_USED;
  }
  return v1::APPROVAL_STATUS_UNSPECIFIED;
}

SessionRecord RecordFrom(const v1::CreateSessionRequest& request) {
  SessionRecord session;
  session.tenant_id = request.tenant_id();
  session.agent_id = request.agent_id();
  session.wallet = Lowercase(request.wallet());
  session.budget_micro_usd = request.budget_micro_usd();
  session.per_request_cap_micro_usd = request.per_request_cap_micro_usd();
  for (const auto& [provider, budget] : request.provider_budgets_micro_usd()) {
    session.provider_budgets_micro_usd[provider] = budget;
  }
  session.allowed_providers.assign(request.allowed_providers().begin(),
                                   request.allowed_providers().end());
  session.allowed_capabilities.assign(request.allowed_capabilities().begin(),
                                      request.allowed_capabilities().end());
  if (request.has_allowed_hours()) {
    session.has_allowed_hours = true;
    session.allowed_start_hour = request.allowed_hours().start_hour();
    session.allowed_end_hour = request.allowed_hours().end_hour();
    // Stored explicitly, so readers never have to know that "" means UTC.
    session.allowed_time_zone =
        request.allowed_hours().time_zone().empty() ? "UTC" : request.allowed_hours().time_zone();
  }
  session.require_approval_above_micro_usd = request.require_approval_above_micro_usd();
  return session;
}

}  // namespace

v1::AgentSession ToProto(const SessionRecord& session, int64_t now_unix_ms) {
  v1::AgentSession out;
  out.set_id(session.id);
  out.set_tenant_id(session.tenant_id);
  out.set_agent_id(session.agent_id);
  out.set_wallet(session.wallet);
  out.set_budget_micro_usd(session.budget_micro_usd);
  out.set_spent_micro_usd(session.spent_micro_usd);
  out.set_reserved_micro_usd(session.reserved_micro_usd);
  out.set_per_request_cap_micro_usd(session.per_request_cap_micro_usd);
  for (const auto& [provider, budget] : session.provider_budgets_micro_usd) {
    (*out.mutable_provider_budgets_micro_usd())[provider] = budget;
  }
  for (const auto& [provider, spent] : session.provider_spent_micro_usd) {
    (*out.mutable_provider_spent_micro_usd())[provider] = spent;
  }
  for (const std::string& provider : session.allowed_providers) {
    out.add_allowed_providers(provider);
  }
  for (const std::string& capability : session.allowed_capabilities) {
    out.add_allowed_capabilities(capability);
  }
  if (session.has_allowed_hours) {
    v1::AllowedHours* hours = out.mutable_allowed_hours();
    hours->set_start_hour(session.allowed_start_hour);
    hours->set_end_hour(session.allowed_end_hour);
    hours->set_time_zone(session.allowed_time_zone);
  }
  out.set_created_unix_ms(session.created_unix_ms);
  out.set_expires_unix_ms(session.expires_unix_ms);
  out.set_require_approval_above_micro_usd(session.require_approval_above_micro_usd);
  out.set_status(StatusOf(SessionStateAt(session, now_unix_ms)));
  out.set_revoked_unix_ms(session.revoked_unix_ms);
  out.set_token_prefix(session.token_prefix);
  return out;
}

v1::Approval ToProto(const ApprovalRecord& approval) {
  v1::Approval out;
  out.set_id(approval.id);
  out.set_tenant_id(approval.tenant_id);
  out.set_session_id(approval.session_id);
  out.set_request_id(approval.request_id);
  out.set_amount_micro_usd(approval.amount_micro_usd);
  if (!approval.model_provider.empty() || !approval.model_id.empty()) {
    out.mutable_model()->set_provider(approval.model_provider);
    out.mutable_model()->set_model(approval.model_id);
  }
  out.set_status(StatusOf(approval.state));
  out.set_created_unix_ms(approval.created_unix_ms);
  out.set_expires_unix_ms(approval.expires_unix_ms);
  out.set_decided_unix_ms(approval.decided_unix_ms);
  out.set_decision_reason(approval.decision_reason);
  return out;
}

absl::StatusOr<v1::CreateSessionResponse> SessionAdmin::CreateSession(
    const v1::CreateSessionRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateCreateSession(request));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());

  std::string token = crypto::RandomToken(kSessionTokenPrefix, kSessionTokenEntropyBytes);
  SessionRecord session = RecordFrom(request);
  session.id = "sess_" + crypto::HexEncode(crypto::RandomBytes(8));
  session.token_hash = crypto::Sha256Hex(token);
  session.token_prefix = token.substr(0, kSessionTokenPrefixLength);
  const int64_t now = UnixMillis(clock_.Now());
  session.created_unix_ms = now;
  session.expires_unix_ms = now + request.duration_ms();
  absl::Status created = store_.CreateSession(session);
  if (absl::IsNotFound(created)) {
    return TenantNotFound(request.tenant_id());  // the tenant vanished meanwhile
  }
  P402_RETURN_IF_ERROR(created);

  v1::CreateSessionResponse response;
  *response.mutable_session() = ToProto(session, now);
  response.set_token(std::move(token));
  return response;
}

absl::StatusOr<v1::GetSessionResponse> SessionAdmin::GetSession(
    const v1::GetSessionRequest& request) {
  P402_RETURN_IF_ERROR(ValidateSessionRef(request.tenant_id(), request.session_id()));
  absl::StatusOr<SessionRecord> session =
      store_.GetSession(request.tenant_id(), request.session_id());
  P402_RETURN_IF_ERROR(SessionError(session.status(), request.session_id()));
  v1::GetSessionResponse response;
  *response.mutable_session() = ToProto(*session, UnixMillis(clock_.Now()));
  return response;
}

absl::StatusOr<v1::ListSessionsResponse> SessionAdmin::ListSessions(
    const v1::ListSessionsRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return InvalidArgument("page_size must be between 1 and 500 (0 = 100)");
  }
  if (!v1::SessionStatus_IsValid(request.status())) {
    return InvalidArgument("status is not a known session status");
  }
  if (!request.page_token().empty()) {
    P402_RETURN_IF_ERROR(ValidateOpaqueId(request.page_token(), "page_token"));
  }
  const int page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  const v1::SessionStatus wanted = request.status();
  const int64_t now = UnixMillis(clock_.Now());

  // The status depends on the clock and the counters, so the store cannot filter on it: read
  // pages (one extra row, so an unfiltered listing knows exactly whether more exist) and filter
  // here until the page is full or the store has no more.
  const int fetch = page_size + 1;
  v1::ListSessionsResponse response;
  bool more = false;
  std::string after = request.page_token();
  for (bool first = true; !more; first = false) {
    absl::StatusOr<std::vector<SessionRecord>> batch =
        store_.ListSessions(request.tenant_id(), after, fetch);
    if (first && !after.empty() && absl::IsInvalidArgument(batch.status())) {
      // The cursor came from the caller and does not name one of the tenant's sessions.
      return InvalidArgument("page_token is not a next_page_token of this listing");
    }
    P402_RETURN_IF_ERROR(batch.status());
    for (const SessionRecord& session : *batch) {
      const v1::SessionStatus status = StatusOf(SessionStateAt(session, now));
      if (wanted != v1::SESSION_STATUS_UNSPECIFIED && status != wanted) {
        continue;
      }
      if (response.sessions_size() == page_size) {
        more = true;  // a further match exists
        break;
      }
      *response.add_sessions() = ToProto(session, now);
    }
    if (more || static_cast<int>(batch->size()) < fetch || batch->back().id == after) {
      break;  // done, or the store is exhausted (the id check guards against a stuck cursor)
    }
    after = batch->back().id;
    if (response.sessions_size() == page_size) {
      more = true;  // full; later rows may match (not scanned, to bound the work per call)
    }
  }
  if (more && response.sessions_size() > 0) {
    response.set_next_page_token(response.sessions(response.sessions_size() - 1).id());
  }
  return response;
}

absl::StatusOr<v1::UpdateSessionResponse> SessionAdmin::UpdateSession(
    const v1::UpdateSessionRequest& request) {
  P402_RETURN_IF_ERROR(ValidateSessionRef(request.tenant_id(), request.session_id()));
  P402_RETURN_IF_ERROR(ValidateUpdateSession(request));
  const int64_t now = UnixMillis(clock_.Now());
  SessionUpdate update;
  update.top_up_micro_usd = request.top_up_micro_usd();
  if (request.extend_ms() > 0) {
    update.expires_unix_ms = now + request.extend_ms();
  }
  if (request.has_per_request_cap_micro_usd()) {
    update.per_request_cap_micro_usd = request.per_request_cap_micro_usd();
  }
  if (request.has_require_approval_above_micro_usd()) {
    update.require_approval_above_micro_usd = request.require_approval_above_micro_usd();
  }
  absl::StatusOr<SessionRecord> session =
      store_.UpdateSession(request.tenant_id(), request.session_id(), update);
  if (absl::IsFailedPrecondition(session.status())) {
    return WithReason(FailedPrecondition("session '" + request.session_id() +
                                         "' is revoked and can no longer change"),
                      "session_revoked");
  }
  P402_RETURN_IF_ERROR(SessionError(session.status(), request.session_id()));
  v1::UpdateSessionResponse response;
  *response.mutable_session() = ToProto(*session, now);
  return response;
}

absl::StatusOr<v1::RevokeSessionResponse> SessionAdmin::RevokeSession(
    const v1::RevokeSessionRequest& request) {
  P402_RETURN_IF_ERROR(ValidateSessionRef(request.tenant_id(), request.session_id()));
  const int64_t now = UnixMillis(clock_.Now());
  absl::StatusOr<SessionRecord> session =
      store_.RevokeSession(request.tenant_id(), request.session_id(), now);
  P402_RETURN_IF_ERROR(SessionError(session.status(), request.session_id()));
  v1::RevokeSessionResponse response;
  *response.mutable_session() = ToProto(*session, now);
  return response;
}

absl::StatusOr<v1::GetApprovalResponse> SessionAdmin::GetApproval(
    const v1::GetApprovalRequest& request) {
  if (!request.tenant_id().empty()) {  // empty = any tenant (internal callers)
    P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  }
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.approval_id(), "approval_id"));
  absl::StatusOr<ApprovalRecord> approval =
      store_.GetApproval(request.tenant_id(), request.approval_id(), UnixMillis(clock_.Now()));
  P402_RETURN_IF_ERROR(ApprovalError(approval.status(), request.approval_id()));
  v1::GetApprovalResponse response;
  *response.mutable_approval() = ToProto(*approval);
  return response;
}

absl::StatusOr<v1::ListApprovalsResponse> SessionAdmin::ListApprovals(
    const v1::ListApprovalsRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  if (!request.session_id().empty()) {
    P402_RETURN_IF_ERROR(ValidateOpaqueId(request.session_id(), "session_id"));
  }
  P402_ASSIGN_OR_RETURN(std::vector<ApprovalRecord> approvals,
                        store_.ListApprovals(request.tenant_id(), request.session_id(),
                                             request.pending_only(), UnixMillis(clock_.Now())));
  v1::ListApprovalsResponse response;
  for (const ApprovalRecord& approval : approvals) {
    *response.add_approvals() = ToProto(approval);
  }
  return response;
}

absl::StatusOr<v1::DecideApprovalResponse> SessionAdmin::DecideApproval(
    const v1::DecideApprovalRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.approval_id(), "approval_id"));
  P402_RETURN_IF_ERROR(ValidateText(request.reason(), "reason", kMaxDecisionReasonBytes));
  const ApprovalState to = request.approve() ? ApprovalState::kApproved : ApprovalState::kDenied;
  absl::StatusOr<ApprovalRecord> approval = store_.TransitionApproval(
      request.tenant_id(), request.approval_id(), to, request.reason(), UnixMillis(clock_.Now()));
  if (absl::IsFailedPrecondition(approval.status())) {
    return WithReason(FailedPrecondition("approval '" + request.approval_id() +
                                         "' is no longer pending (already decided or expired)"),
                      "approval_not_pending");
  }
  P402_RETURN_IF_ERROR(ApprovalError(approval.status(), request.approval_id()));
  v1::DecideApprovalResponse response;
  *response.mutable_approval() = ToProto(*approval);
  return response;
}

}  // namespace p402::policy
