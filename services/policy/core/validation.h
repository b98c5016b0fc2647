// File: services/policy/core/validation.h
// Input checks shared by the guard and the management API. Each returns OK or InvalidArgument
// with a message that names the field and the rule, never the offending value when it could be a
// secret. Pure; thread-safe.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "services/policy/core/records.h"

namespace p402::policy {

// [a-z0-9_-]{1,64}.
absl::Status ValidateTenantId(std::string_view id, std::string_view field = "tenant_id");
// Key and reservation ids: [A-Za-z0-9_-]{1,128}.
absl::Status ValidateOpaqueId(std::string_view id, std::string_view field);
// At most `max_bytes` bytes, no ASCII control characters; may be empty.
absl::Status ValidateText(std::string_view text, std::string_view field, size_t max_bytes = 256);
// Every limit >= 0 (0 = the service default; for the budget, unlimited).
absl::Status ValidateLimits(const TenantLimits& limits);

}  // namespace p402::policy
