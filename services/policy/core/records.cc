#include "services/policy/core/records.h"

namespace p402::policy {

std::string_view ReservationStatusName(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kReserved:
      return "reserved";
    case ReservationStatus::kCommitted:
      return "committed";
    case ReservationStatus::kReleased:
      return "released";
    case ReservationStatus::kExpired:
      return "expired";
  }
  return "unknown";
}

std::optional<ReservationStatus> ParseReservationStatus(std::string_view name) {
  for (ReservationStatus s : {ReservationStatus::kReserved, ReservationStatus::kCommitted,
                              ReservationStatus::kReleased, ReservationStatus::kExpired}) {
    if (ReservationStatusName(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

SessionState SessionStateAt(const SessionRecord& session, int64_t now_unix_ms) {
  if (session.revoked_unix_ms != 0) {
    return SessionState::kRevoked;
  }
  if (now_unix_ms >= session.expires_unix_ms) {
    return SessionState::kExpired;
  }
  if (session.budget_micro_usd - session.spent_micro_usd - session.reserved_micro_usd <= 0) {
    return SessionState::kExhausted;
  }
  return SessionState::kActive;
}

std::string_view ApprovalStateName(ApprovalState state) {
  switch (state) {
    case ApprovalState::kPending:
      return "pending";
    case ApprovalState::kApproved:
      return "approved";
    case ApprovalState::kDenied:
      return "denied";
    case ApprovalState::kExpired:
      return "expired";
    case ApprovalState::kUsed:
      return "used";
  }
  return "unknown";
}

std::optional<ApprovalState> ParseApprovalState(std::string_view name) {
  for (ApprovalState s : {ApprovalState::kPending, ApprovalState::kApproved, ApprovalState::kDenied,
                          ApprovalState::kExpired, ApprovalState::kUsed}) {
    if (ApprovalStateName(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace p402::policy
