// File: services/edge/clients/grpc_settlement_client.h
// gRPC (callback API) implementation of SettlementClient (services/edge/core/ports.h) over the
// p402.v1.Settlement stub. Every call carries a deadline; calls whose request has a RequestMeta
// also carry its request_id as x-request-id (GetSupported, balance, usage and Bazaar requests
// have no meta, so they go without). A failed call reaches the callback as the absl status with
// the service's ErrorInfo reason (ReasonOf).
#pragma once

#include <chrono>
#include <memory>

#include "services/edge/core/ports.h"

namespace grpc {
class Channel;
}

namespace p402::edge {

struct SettlementTimeouts {
  // SettlePayment and TopUp: they wait for the transaction's receipt on chain.
  std::chrono::milliseconds settle{60'000};
  // Everything else (requirements, verify, release, ledger reads, Bazaar).
  std::chrono::milliseconds call{10'000};
};

// Thread-safe.
std::unique_ptr<SettlementClient> MakeGrpcSettlementClient(std::shared_ptr<grpc::Channel> channel,
                                                           SettlementTimeouts timeouts);

}  // namespace p402::edge
