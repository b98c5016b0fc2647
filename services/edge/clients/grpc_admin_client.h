// File: services/edge/clients/grpc_admin_client.h
// gRPC (callback API) implementation of PolicyAdminClient (services/edge/core/admin_port.h): the
// management RPCs of p402.v1.Policy. Every call carries x-request-id and a deadline of `timeout`;
// a failed call reaches the callback as the absl status with the service's ErrorInfo reason.
#pragma once

#include <chrono>
#include <memory>

#include "services/edge/core/admin_port.h"

namespace grpc {
class Channel;
}

namespace p402::edge {

// `channel` may be shared with the PolicyClient. Thread-safe.
std::unique_ptr<PolicyAdminClient> MakeGrpcPolicyAdminClient(std::shared_ptr<grpc::Channel> channel,
                                                             std::chrono::milliseconds timeout);

}  // namespace p402::edge
