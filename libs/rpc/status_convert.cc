#include "libs/rpc/status_convert.h"

#include <string>

#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  p402::v1::ErrorInfo info;
  info.set_message(MessageOf(status));
  if (auto reason = ReasonOf(status)) {
    info.set_reason(*reason);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), MessageOf(status),
                      info.SerializeAsString());
}

p402::v1::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  p402::v1::ErrorInfo info;
  if (!status.error_details().empty()) {
    info.ParseFromString(status.error_details());
  }
  return info;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  int code = status.error_code();
  if (code < 0 || code > 16) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  absl::Status out(static_cast<absl::StatusCode>(code), ToAbsl(status.error_message()));
  p402::v1::ErrorInfo info = ErrorInfoOf(status);
  if (!info.reason().empty()) {
    out = WithReason(std::move(out), info.reason());
  }
  return out;
}

}  // namespace p402::rpc
