// File: libs/rpc/call_context.h
// Request-id and deadline propagation across gRPC hops: the edge puts x-request-id into client
// metadata; servers read it back; every outbound call gets a deadline derived from the inbound one
// minus a margin.
#pragma once

#include <chrono>
#include <string>

#include "grpcpp/grpcpp.h"

namespace p402::rpc {

inline constexpr char kRequestIdHeader[] = "x-request-id";

// The x-request-id of an inbound call ("" when absent or malformed).
std::string RequestIdOf(const grpc::ServerContextBase& context);

// Sets x-request-id and a deadline `timeout` from now on an outbound call.
void PrepareClientContext(grpc::ClientContext& context, const std::string& request_id,
                          std::chrono::milliseconds timeout);

// The time left before the inbound call's deadline minus `margin`, capped at `cap` (calls without
// a deadline get `cap`). Never negative.
std::chrono::milliseconds RemainingBudget(const grpc::ServerContextBase& context,
                                          std::chrono::milliseconds margin,
                                          std::chrono::milliseconds cap);

}  // namespace p402::rpc
