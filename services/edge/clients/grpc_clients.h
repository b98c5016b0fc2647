// File: services/edge/clients/grpc_clients.h
// gRPC (callback API) implementations of the edge's PolicyClient and RouterClient. Channels are
// shared and kept warm; every call carries x-request-id and a deadline.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "services/edge/core/ports.h"

namespace grpc {
class Channel;
}

namespace p402::edge {

struct GrpcClientTimeouts {
  std::chrono::milliseconds policy{2000};
  // Whole chat request, provider time included.
  std::chrono::milliseconds route{600'000};
  std::chrono::milliseconds list_models{5000};
  // Router.Quote (x402 offers; no provider call, catalog arithmetic only).
  std::chrono::milliseconds quote{5000};
};

std::unique_ptr<PolicyClient> MakeGrpcPolicyClient(std::shared_ptr<grpc::Channel> channel,
                                                   GrpcClientTimeouts timeouts);
std::unique_ptr<RouterClient> MakeGrpcRouterClient(std::shared_ptr<grpc::Channel> channel,
                                                   GrpcClientTimeouts timeouts);

}  // namespace p402::edge
