// File: libs/admin/admin_server.h
// The admin listener every P402 service runs beside its main port (HOUSE_STYLE 3.10):
//   GET /metrics  Prometheus text from a metrics Registry
//   GET /healthz  200 while the process is alive
//   GET /readyz   200 when ready, 503 while starting or draining (SetReady)
// Extra read-only routes can be added (e.g. a service's status page).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/http/server.h"
#include "libs/metrics/registry.h"

namespace p402::admin {

struct AdminOptions {
  std::string listen = "127.0.0.1:0";
  metrics::Registry* registry = nullptr;  // default: metrics::Registry::Default()
};

class AdminServer {
 public:
  // Errors: as http::HttpServer::Start.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(AdminOptions options);
  ~AdminServer();

  int port() const { return server_->port(); }
  // Readiness reported by /readyz. Starts not ready.
  void SetReady(bool ready) { ready_->store(ready); }
  void Shutdown() { server_->Shutdown(); }

 private:
  AdminServer() = default;
  std::shared_ptr<std::atomic<bool>> ready_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace p402::admin
