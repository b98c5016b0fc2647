#include "libs/common/status_util.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/cord.h"
#include "libs/common/status_macros.h"
#include "libs/common/strings.h"

namespace p402 {
namespace {
constexpr char kReasonUrl[] = "type.p402.dev/reason";
}  // namespace

absl::Status InvalidArgument(std::string_view m) { return absl::InvalidArgumentError(ToAbsl(m)); }
absl::Status NotFound(std::string_view m) { return absl::NotFoundError(ToAbsl(m)); }
absl::Status Unauthenticated(std::string_view m) { return absl::UnauthenticatedError(ToAbsl(m)); }
absl::Status PermissionDenied(std::string_view m) { return absl::PermissionDeniedError(ToAbsl(m)); }
absl::Status Unavailable(std::string_view m) { return absl::UnavailableError(ToAbsl(m)); }
absl::Status Internal(std::string_view m) { return absl::InternalError(ToAbsl(m)); }
absl::Status DeadlineExceeded(std::string_view m) { return absl::DeadlineExceededError(ToAbsl(m)); }
absl::Status ResourceExhausted(std::string_view m) {
  return absl::ResourceExhaustedError(ToAbsl(m));
}
absl::Status FailedPrecondition(std::string_view m) {
  return absl::FailedPreconditionError(ToAbsl(m));
}
absl::Status AlreadyExists(std::string_view m) { return absl::AlreadyExistsError(ToAbsl(m)); }

absl::Status WithReason(absl::Status status, std::string_view reason) {
  if (!status.ok()) {
    status.SetPayload(kReasonUrl, absl::Cord(ToAbsl(reason)));
  }
  return status;
}

std::optional<std::string> ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonUrl);
  if (!payload) {
    return std::nullopt;
  }
  return std::string(*payload);
}

std::string MessageOf(const absl::Status& status) { return ToString(status.message()); }

namespace internal {
void CheckFailed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "P402_CHECK failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace internal

}  // namespace p402
