// The life of an admitted request after Authorize: Commit, Release, CheckReservation and the
// expiry sweep (Guard, guard.h).
#include <algorithm>
#include <string>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

// Release reason that counts as a failed request for the error-rate kill switch.
constexpr std::string_view kProviderFailed = "provider_failed";

v1::CheckReservationResponse Inactive(std::string_view reason) {
  v1::CheckReservationResponse response;
  response.set_active(false);
  response.set_reason(std::string(reason));
  return response;
}

}  // namespace

absl::StatusOr<v1::CommitResponse> Guard::Commit(const v1::CommitRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.reservation_id(), "reservation_id"));
  if (request.actual_micro_usd() < 0) {
    return InvalidArgument("actual_micro_usd must be >= 0");
  }
  if (!request.model().provider().empty()) {
    P402_RETURN_IF_ERROR(ValidateText(request.model().provider(), "model.provider", 64));
  }
  P402_ASSIGN_OR_RETURN(
      CommitOutcome outcome,
      store_.CommitReservation(request.reservation_id(), request.actual_micro_usd(),
                               request.model().provider(), UnixMillis(clock_.Now())));
  const ReservationRecord& r = outcome.reservation;
  v1::CommitResponse response;
  response.set_charged_micro_usd(r.actual_micro_usd);
  response.set_overrun_micro_usd(
      std::max<MicroUsd>(0, request.actual_micro_usd() - r.amount_micro_usd));
  response.set_already_committed(outcome.already_committed);
  if (outcome.already_committed) {
    return response;
  }
  if (response.overrun_micro_usd() > 0) {
    // The estimate behind the reservation was too low; the difference is not charged.
    P402_LOG(kWarn, "commit exceeded its reservation")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", r.id)
        .Field("tenant_id", r.tenant_id)
        .Field("overrun_micro_usd", response.overrun_micro_usd());
  }
  if (outcome.committed_after_expiry) {
    P402_LOG(kWarn, "commit arrived after its reservation expired")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", r.id)
        .Field("tenant_id", r.tenant_id);
  }
  Finished(r, r.actual_micro_usd, /*failed=*/false, request.meta().request_id());
  return response;
}

absl::StatusOr<v1::ReleaseResponse> Guard::Release(const v1::ReleaseRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.reservation_id(), "reservation_id"));
  P402_RETURN_IF_ERROR(ValidateText(request.reason(), "reason"));
  P402_ASSIGN_OR_RETURN(
      ReleaseOutcome outcome,
      store_.ReleaseReservation(request.reservation_id(), UnixMillis(clock_.Now())));
  v1::ReleaseResponse response;
  response.set_already_finalized(outcome.already_finalized);
  if (!outcome.already_finalized) {
    Finished(outcome.reservation, 0, request.reason() == kProviderFailed,
             request.meta().request_id());
  }
  return response;
}

void Guard::Finished(const ReservationRecord& reservation, MicroUsd charged, bool failed,
                     std::string_view request_id) {
  chain_.NotifyFinished(reservation, charged, failed);
  // The error-rate kill switch. The money is already settled, so nothing here may fail the call.
  absl::StatusOr<PolicyList> policies = policies_.Get(reservation.tenant_id);
  if (!policies.ok()) {
    P402_LOG(kWarn, "kill switch skipped: policies unavailable")
        .RequestId(request_id)
        .Field("tenant_id", reservation.tenant_id)
        .Field("error", MessageOf(policies.status()));
    return;
  }
  absl::StatusOr<bool> tripped = kill_switch_.RecordOutcome(reservation.tenant_id, failed,
                                                            **policies, UnixMillis(clock_.Now()));
  if (!tripped.ok()) {
    P402_LOG(kWarn, "kill switch could not pause the tenant")
        .RequestId(request_id)
        .Field("tenant_id", reservation.tenant_id)
        .Field("error", MessageOf(tripped.status()));
  } else if (*tripped) {
    P402_LOG(kWarn, "kill switch tripped: tenant paused")
        .RequestId(request_id)
        .Field("tenant_id", reservation.tenant_id);
  }
}

absl::StatusOr<v1::CheckReservationResponse> Guard::CheckReservation(
    const v1::CheckReservationRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.reservation_id(), "reservation_id"));
  P402_ASSIGN_OR_RETURN(ReservationRecord reservation,
                        store_.GetReservation(request.reservation_id()));
  // Only the stored state counts (not expires_unix_ms): a stream running past the TTL is cut
  // by the sweep's expiry, the same moment on every replica.
  if (reservation.status != ReservationStatus::kReserved) {
    return Inactive("reservation_finalized");
  }
  P402_ASSIGN_OR_RETURN(TenantRecord tenant, store_.GetTenant(reservation.tenant_id));
  if (tenant.paused) {
    return Inactive("tenant_paused");
  }
  if (!reservation.session_id.empty()) {
    P402_ASSIGN_OR_RETURN(SessionRecord session,
                          store_.GetSession(reservation.tenant_id, reservation.session_id));
    const int64_t now = UnixMillis(clock_.Now());
    if (session.revoked_unix_ms != 0) {
      return Inactive("session_revoked");
    }
    if (now >= session.expires_unix_ms) {
      return Inactive("session_expired");
    }
  }
  v1::CheckReservationResponse response;
  response.set_active(true);
  return response;
}

absl::StatusOr<int64_t> Guard::ExpireReservations() {
  return store_.ExpireReservations(UnixMillis(clock_.Now()));
}

}  // namespace p402::policy
