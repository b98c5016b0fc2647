// File: libs/rpc/server_runner.h
// Runs a gRPC server: binds host:port (port 0 picks a free port and reports it), registers the
// services, enables the standard grpc.health.v1 service, and stops gracefully with a deadline.
// Every P402 service's composition root uses it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace p402::rpc {

struct GrpcServerOptions {
  // "127.0.0.1:0", "0.0.0.0:50051", "[::]:0".
  std::string listen = "127.0.0.1:0";
  // Services to register; not owned, must outlive the server.
  std::vector<grpc::Service*> services;
  // Largest accepted request message.
  int max_receive_message_bytes = 8 * 1024 * 1024;
  // Callback-API threads are managed by gRPC; this bounds the sync pool if any sync service is
  // registered.
  int max_sync_threads = 4;
};

class GrpcServer {
 public:
  // Starts serving. Errors: InvalidArgument (bad listen address, no services), Unavailable (the
  // address could not be bound).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options);
  ~GrpcServer();

  // The bound port (the real one when the options said 0).
  int port() const { return port_; }
  // Marks the health service NOT_SERVING (draining); the server keeps serving.
  void SetNotServing();
  // Stops accepting calls, lets in-flight calls finish until `deadline`, then cancels the rest.
  // Idempotent; thread-safe.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace p402::rpc
