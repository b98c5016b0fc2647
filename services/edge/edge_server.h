// File: services/edge/edge_server.h
// Composition root of p402-edge: gRPC clients to policy and router, the catalog refresher, the
// chat pipeline, the HTTP server and the admin server. The only place that knows concrete types.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/edge/edge_config.h"

namespace p402::edge {

class EdgeServer {
 public:
  // Binds both listeners and starts serving at once; the catalog is fetched in the background
  // (chat requests get 503 "catalog_unavailable" until it arrives). Errors: InvalidArgument,
  // Unavailable (bind failed).
  static absl::StatusOr<std::unique_ptr<EdgeServer>> Start(const EdgeConfig& config);
  ~EdgeServer();

  // {"http_port":..., "admin_port":...}
  std::map<std::string, int> ports() const;
  void SetReady(bool ready);
  // Stops accepting, finishes in-flight responses (bounded), stops the refresher. Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit EdgeServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::edge
