#include "services/policy/core/validation.h"

#include <string>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

bool IsLowerIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool IsOpaqueIdChar(char c) { return IsLowerIdChar(c) || (c >= 'A' && c <= 'Z'); }

absl::Status NonNegative(int64_t value, std::string_view field) {
  if (value < 0) {
    return InvalidArgument("limits." + std::string(field) + " must be >= 0 (0 = service default)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTenantId(std::string_view id, std::string_view field) {
  if (id.empty()) {
    return InvalidArgument(std::string(field) + " is required");
  }
  if (id.size() > 64) {
    return InvalidArgument(std::string(field) + " must be at most 64 characters");
  }
  for (char c : id) {
    if (!IsLowerIdChar(c)) {
      return InvalidArgument(std::string(field) +
                             " may contain only lowercase letters, digits, '_' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateOpaqueId(std::string_view id, std::string_view field) {
  if (id.empty()) {
    return InvalidArgument(std::string(field) + " is required");
  }
  if (id.size() > 128) {
    return InvalidArgument(std::string(field) + " must be at most 128 characters");
  }
  for (char c : id) {
    if (!IsOpaqueIdChar(c)) {
      return InvalidArgument(std::string(field) + " may contain only letters, digits, '_' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateText(std::string_view text, std::string_view field, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return InvalidArgument(std::string(field) + " must be at most " + std::to_string(max_bytes) +
                           " bytes");
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return InvalidArgument(std::string(field) + " must not contain control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLimits(const TenantLimits& limits) {
  P402_RETURN_IF_ERROR(NonNegative(limits.per_request_cap_micro_usd, "per_request_cap_micro_usd"));
  P402_RETURN_IF_ERROR(NonNegative(limits.daily_limit_micro_usd, "daily_limit_micro_usd"));
  P402_RETURN_IF_ERROR(NonNegative(limits.budget_micro_usd, "budget_micro_usd"));
  P402_RETURN_IF_ERROR(NonNegative(limits.requests_per_hour, "requests_per_hour"));
  return NonNegative(limits.max_concurrent, "max_concurrent");
}

}  // namespace p402::policy
