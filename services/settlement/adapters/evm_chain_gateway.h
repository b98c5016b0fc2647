// File: services/settlement/adapters/evm_chain_gateway.h
// EvmChainGateway: the ChainGateway port (core/ports.h) over an EVM node's JSON-RPC endpoint and
// the facilitator's secp256k1 key. Reads go through eth_call / eth_getCode; settlement builds a
// signed EIP-1559 transaction calling transferWithAuthorization(..., v, r, s) (libs/evm) that the
// engine records before Broadcast sends it.
//
// Policies:
//   - gas limit = eth_estimateGas (from the signer) * 1.2, capped at gas_limit_cap; an estimate
//     above the cap is FailedPrecondition; a revert at estimation is FailedPrecondition with the
//     revert text (e.g. "FiatTokenV2: authorization is used or canceled").
//   - fees: maxPriorityFeePerGas = eth_maxPriorityFeePerGas, or default_priority_fee_wei when the
//     node does not implement it; maxFeePerGas = 2 * baseFeePerGas(latest block) + priority.
//   - account nonces: a local next-nonce under a mutex, so concurrent PrepareTransfer calls get
//     distinct consecutive nonces. Each Prepare also reads eth_getTransactionCount(signer,
//     "pending"): when no prepared transaction is awaiting its Broadcast, the chain's count is the
//     truth (heals gaps left by transactions prepared but never sent, and external use of the
//     account); otherwise the larger of the two is used. A Broadcast rejected for its nonce makes
//     the next Prepare resynchronise from the chain. Prepared-but-unbroadcast entries older than
//     abandon_after are forgotten.
//   - Broadcast is OK when the node accepts the transaction or already knows it (a rebroadcast,
//     also when it was already mined).
// The private key is kept in memory only; it is never logged or put in a status message.
// Thread-safe: every method may be called concurrently; all block on JSON-RPC round trips.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/evm/transaction.h"
#include "libs/http/client.h"
#include "services/settlement/adapters/json_rpc_client.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

struct EvmChainGatewayOptions {
  std::string rpc_url;  // e.g. "https://sepolia.base.org" or a local node
  // The facilitator's key (32 bytes big-endian): the caller reads it from the environment or a
  // file. Never logged.
  std::array<uint8_t, 32> signer_private_key{};
  std::chrono::milliseconds rpc_timeout{10'000};
  std::chrono::milliseconds rpc_connect_timeout{3'000};
  uint64_t gas_limit_cap = 200'000;
  // Used when the node has no eth_maxPriorityFeePerGas (1 gwei).
  uint64_t default_priority_fee_wei = 1'000'000'000;
  // A prepared transaction not broadcast within this time no longer holds back nonce
  // resynchronisation (its caller is assumed to have given up).
  std::chrono::milliseconds abandon_after{120'000};
  // TLS: verify the node's certificate (turn off only in tests).
  bool verify_peer = true;
};

class EvmChainGateway final : public ChainGateway {
 public:
  // Does not contact the chain. InvalidArgument: empty rpc_url, an invalid key (zero or >= n),
  // gas_limit_cap 0.
  static absl::StatusOr<std::unique_ptr<EvmChainGateway>> Create(EvmChainGatewayOptions options);
  ~EvmChainGateway() override;
  EvmChainGateway(const EvmChainGateway&) = delete;
  EvmChainGateway& operator=(const EvmChainGateway&) = delete;

  absl::StatusOr<uint64_t> ChainId() override;
  evm::Address SignerAddress() const override { return signer_; }
  absl::StatusOr<bool> HasCode(const evm::Address& token) override;
  // FailedPrecondition when the call reverts (e.g. not a token).
  absl::StatusOr<evm::Uint256> BalanceOf(const evm::Address& token,
                                         const evm::Address& owner) override;
  absl::StatusOr<bool> AuthorizationUsed(const evm::Address& token, const evm::Address& authorizer,
                                         const evm::Bytes32& nonce) override;
  absl::StatusOr<Simulation> SimulateTransfer(const evm::Address& token,
                                              const evm::TransferAuthorization& auth,
                                              const crypto::Signature65& signature) override;
  absl::StatusOr<PreparedTransfer> PrepareTransfer(const evm::Address& token,
                                                   const evm::TransferAuthorization& auth,
                                                   const crypto::Signature65& signature) override;
  absl::Status Broadcast(const PreparedTransfer& transfer) override;
  // InvalidArgument for a malformed hash ("0x" + 64 hex).
  absl::StatusOr<bool> TransactionKnown(std::string_view tx_hash) override;
  absl::StatusOr<std::optional<ChainReceipt>> GetReceipt(std::string_view tx_hash) override;

 private:
  EvmChainGateway(EvmChainGatewayOptions options, evm::Address signer,
                  std::unique_ptr<http::HttpClient> http);

  // eth_call from the signer to `to` with `data` (raw bytes) at "latest".
  absl::StatusOr<JsonRpcOutcome> EthCall(const evm::Address& to, const std::string& data);
  absl::StatusOr<uint64_t> EstimateGas(const evm::Address& to, const std::string& data);
  // (maxPriorityFeePerGas, maxFeePerGas).
  absl::StatusOr<std::pair<evm::Uint256, evm::Uint256>> Fees();
  absl::StatusOr<uint64_t> ReserveNonce();
  void ReleaseNonce(uint64_t nonce, bool resync);

  const EvmChainGatewayOptions options_;
  const evm::Address signer_;
  std::unique_ptr<http::HttpClient> http_;  // owned; the rpc client borrows it
  JsonRpcClient rpc_;

  absl::Mutex chain_id_mu_;
  std::optional<uint64_t> chain_id_ ABSL_GUARDED_BY(chain_id_mu_);

  absl::Mutex nonce_mu_;
  std::optional<uint64_t> next_nonce_ ABSL_GUARDED_BY(nonce_mu_);
  // Prepared, not yet broadcast: nonce -> when it was handed out.
  std::map<uint64_t, std::chrono::steady_clock::time_point> outstanding_ ABSL_GUARDED_BY(nonce_mu_);
};

}  // namespace p402::settlement
