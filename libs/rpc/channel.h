// File: libs/rpc/channel.h
// Client channels to P402 services: shared, kept warm with keepalive pings, retries off (P402
// retries where it knows idempotency, not blindly).
#pragma once

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace p402::rpc {

// An insecure channel to "host:port" (cluster-internal traffic; mTLS comes from the mesh).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target);

// Waits until the channel is connected or `timeout_ms` passes; true when connected.
bool WaitForConnected(grpc::Channel& channel, int timeout_ms);

}  // namespace p402::rpc
