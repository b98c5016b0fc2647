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

}  // namespace p402::policy
