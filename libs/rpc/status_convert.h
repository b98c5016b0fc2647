// File: libs/rpc/status_convert.h
// absl::Status <-> grpc::Status. Codes map one to one (same numbers). The machine-readable reason
// (libs/common/status_util WithReason) and retry hint travel as a serialised p402.v1.ErrorInfo in
// the grpc::Status error details, so a client sees the same reason the server attached.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "p402/v1/common.pb.h"

namespace p402::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);
// The ErrorInfo carried by a grpc::Status (empty when none).
p402::v1::ErrorInfo ErrorInfoOf(const grpc::Status& status);

}  // namespace p402::rpc
