// File: services/router/router_server.h
// Composition root of p402-router: the catalog (embedded, or the --catalog file) with base-URL
// overrides and availability (API keys read once from the environment, `providers` filter), the
// HealthTracker, the async HttpClient and TimerQueue, the HttpProviderExecutor, the gRPC
// RouterService on a GrpcServer, and the admin server.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/router/core/catalog.h"
#include "services/router/core/health_tracker.h"
#include "services/router/router_config.h"

namespace p402::router {

class RouterServer {
 public:
  // Errors: InvalidArgument (config: unreadable or invalid catalog, unknown provider in
  // provider_base_urls / providers, bad CA file), Unavailable (bind).
  static absl::StatusOr<std::unique_ptr<RouterServer>> Start(const RouterConfig& config);
  ~RouterServer();

  // {"grpc_port":..., "admin_port":...}
  std::map<std::string, int> ports() const;
  void SetReady(bool ready);
  // Stops the gRPC server (in-flight calls are cancelled after a grace period, which cancels
  // their provider calls), then the HTTP client and the admin server. Idempotent.
  void Shutdown();

  // The catalog as served (overrides and availability applied).
  const Catalog& catalog() const;
  // Live provider health (tests and status pages).
  const HealthTracker& health() const;

  class Impl;

 private:
  explicit RouterServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::router
