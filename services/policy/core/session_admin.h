// File: services/policy/core/session_admin.h
// SessionAdmin: agent sessions and their approvals for the management API (rpc/ adapter; the edge
// serves it as /v2/sessions and /v2/approvals). Creates sessions (id "sess_" + 16 hex, token shown
// once and stored only as its SHA-256), reads them with their live status, pages through them,
// tops up / extends / re-limits, revokes; lists and decides approvals.
//
// Errors: InvalidArgument naming the field, NotFound reason "tenant_not_found" /
// "session_not_found" / "approval_not_found", FailedPrecondition "session_revoked" (update of a
// revoked session) / "approval_not_pending", Unavailable (store down).
// Thread-safety: all methods may be called concurrently. Blocking: as the store.
#pragma once

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class SessionAdmin {
 public:
  // All references must outlive the object.
  SessionAdmin(PolicyStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  absl::StatusOr<v1::CreateSessionResponse> CreateSession(const v1::CreateSessionRequest& request);
  absl::StatusOr<v1::GetSessionResponse> GetSession(const v1::GetSessionRequest& request);
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(const v1::ListSessionsRequest& request);
  absl::StatusOr<v1::UpdateSessionResponse> UpdateSession(const v1::UpdateSessionRequest& request);
  absl::StatusOr<v1::RevokeSessionResponse> RevokeSession(const v1::RevokeSessionRequest& request);
  absl::StatusOr<v1::GetApprovalResponse> GetApproval(const v1::GetApprovalRequest& request);
  absl::StatusOr<v1::ListApprovalsResponse> ListApprovals(const v1::ListApprovalsRequest& request);
  absl::StatusOr<v1::DecideApprovalResponse> DecideApproval(
      const v1::DecideApprovalRequest& request);

 private:
  PolicyStore& store_;
  const Clock& clock_;
};

// Wire forms; a session's status is computed at now_unix_ms. Never include the token hash.
v1::AgentSession ToProto(const SessionRecord& session, int64_t now_unix_ms);
v1::Approval ToProto(const ApprovalRecord& approval);

}  // namespace p402::policy
