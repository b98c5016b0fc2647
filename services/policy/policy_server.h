// File: services/policy/policy_server.h
// Composition root of p402-policy: the store (PostgreSQL when a database URL is configured, else
// in memory), the guard core, the gRPC adapter, the reservation-expiry sweeper and the admin
// server.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/policy/policy_config.h"

namespace p402::policy {

class PolicyServer {
 public:
  // Errors: InvalidArgument (config), Unavailable (database or bind), FailedPrecondition
  // (migrations).
  static absl::StatusOr<std::unique_ptr<PolicyServer>> Start(const PolicyConfig& config);
  ~PolicyServer();

  // {"grpc_port":..., "admin_port":...}
  std::map<std::string, int> ports() const;
  void SetReady(bool ready);
  void Shutdown();

  class Impl;

 private:
  explicit PolicyServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::policy
