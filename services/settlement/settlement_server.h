// File: services/settlement/settlement_server.h
// Composition root of p402-settlement: the stores (PostgreSQL when a database URL is configured,
// else in memory), the chain gateway (EVM JSON-RPC + the facilitator key, when a chain RPC URL is
// configured), the settlement engine and the Bazaar, the gRPC adapter on a worker pool, the
// reconciler of submitted payments and the admin server (/healthz, /readyz, /metrics).
//
// Chain metrics counted here: p402_settlement_chain_failures_total{op} (gateway calls that failed:
// node unreachable, timeout, malformed answer; reverts and node rejections are answers, not
// failures), p402_settlement_reconciled_total (payments a reconcile pass moved on),
// p402_settlement_reconcile_failures_total (passes that failed).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/settlement/settlement_config.h"

namespace p402::settlement {

class SettlementServer {
 public:
  // Errors: InvalidArgument (config), Unavailable (database or bind), FailedPrecondition
  // (migrations; the chain node serves another chain id than chain_id). A chain node that is
  // unreachable at start does not stop the service: payments fail closed per call until it is back.
  static absl::StatusOr<std::unique_ptr<SettlementServer>> Start(const SettlementConfig& config);
  ~SettlementServer();

  // {"grpc_port":..., "admin_port":...}
  std::map<std::string, int> ports() const;
  void SetReady(bool ready);
  // Stops the reconciler, drains the gRPC server and the worker pool, stops the admin server.
  // Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit SettlementServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::settlement
