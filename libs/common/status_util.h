// File: libs/common/status_util.h
// Status helpers that accept std::string_view, and the machine-readable reason payload that travels
// with a status (across gRPC as p402.v1.ErrorInfo, see libs/rpc/status_convert.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace p402 {

absl::Status InvalidArgument(std::string_view msg);
absl::Status NotFound(std::string_view msg);
absl::Status Unauthenticated(std::string_view msg);
absl::Status PermissionDenied(std::string_view msg);
absl::Status Unavailable(std::string_view msg);
absl::Status Internal(std::string_view msg);
absl::Status DeadlineExceeded(std::string_view msg);
absl::Status ResourceExhausted(std::string_view msg);
absl::Status FailedPrecondition(std::string_view msg);
absl::Status AlreadyExists(std::string_view msg);

// Attaches a machine-readable reason code (e.g. "model_not_found") to a non-OK status.
absl::Status WithReason(absl::Status status, std::string_view reason);
// The reason attached by WithReason, if any.
std::optional<std::string> ReasonOf(const absl::Status& status);
// The status message as std::string.
std::string MessageOf(const absl::Status& status);

}  // namespace p402
