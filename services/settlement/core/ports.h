// File: services/settlement/core/ports.h
// The ports of the settlement core (house style 3.4). Implementations:
//   PaymentStore, Ledger, BazaarStore: adapters/memory_* (embedded default, tests) and
//     adapters/pg_* (PostgreSQL, shared by replicas; schema/);
//   ChainGateway: adapters/evm_chain_gateway (EVM JSON-RPC + the facilitator key); tests use fakes.
// Every method may fail with Unavailable when its backend cannot be reached; all are thread-safe
// and may block (PostgreSQL, the chain): the rpc layer calls them from worker threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/common/clock.h"  // IWYU pragma: export (the Clock port)
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/records.h"

namespace p402::settlement {

// Where payment states live. The uniqueness of PaymentKey is the replay guard: it must hold
// atomically across processes sharing the backend.
class PaymentStore {
 public:
  virtual ~PaymentStore() = default;
  // Inserts `record` (state kClaimed) unless the key exists. Returns nullopt when inserted now,
  // else the existing record unchanged (the caller decides what it means).
  virtual absl::StatusOr<std::optional<PaymentRecord>> Claim(const PaymentRecord& record) = 0;
  virtual absl::StatusOr<std::optional<PaymentRecord>> Get(const PaymentKey& key) = 0;
  // Moves the record to `next` (tx_hash / error fields and updated_unix_ms from `next`) only if
  // its state is still `expected`; returns whether it did (compare-and-set). NotFound if absent.
  virtual absl::StatusOr<bool> Transition(const PaymentKey& key, PaymentState expected,
                                          const PaymentRecord& next) = 0;
  // Deletes the record if it is kClaimed by `claim_owner` (or kFailed without a tx_hash: nothing
  // was broadcast, the authorization is still unused). Returns whether it deleted.
  virtual absl::StatusOr<bool> Release(const PaymentKey& key, std::string_view claim_owner) = 0;
  // kSubmitted records (for the reconciler after a restart), oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<PaymentRecord>> ListSubmitted(int limit) = 0;
};

// Append-only ledger of prepaid balances and usage. Accounts are (tenant_id, session_id).
class Ledger {
 public:
  virtual ~Ledger() = default;
  // Appends atomically: balance_before = the account's balance, balance_after = before + amount.
  // A deduction (amount < 0) that would take the balance below 0 fails with FailedPrecondition
  // (reason "insufficient_balance") and appends nothing. A repeated idempotency_key returns the
  // first entry with duplicate = true and changes nothing (whatever the new entry says).
  // InvalidArgument: empty tenant_id / idempotency_key / kind.
  virtual absl::StatusOr<AppendResult> Append(const LedgerEntry& entry) = 0;
  virtual absl::StatusOr<Balance> GetBalance(std::string_view tenant_id,
                                             std::string_view session_id) = 0;
  // Entries of the tenant (of one session when session_id is set), oldest first. page_size
  // 1..1000. InvalidArgument for a malformed page_token.
  virtual absl::StatusOr<LedgerPage> List(std::string_view tenant_id, std::string_view session_id,
                                          std::string_view page_token, int page_size) = 0;
  // The entry recorded under `idempotency_key`, if any.
  virtual absl::StatusOr<std::optional<LedgerEntry>> FindByKey(
      std::string_view idempotency_key) = 0;
  // Sum of cost_micro_usd of the tenant's "usage", "payment" and "capture" entries created at or
  // after `since_unix_ms` (all sessions): the volume that selects the fee tier.
  virtual absl::StatusOr<int64_t> VolumeSince(std::string_view tenant_id,
                                              int64_t since_unix_ms) = 0;
};

// The EVM chain, through a JSON-RPC endpoint, and the facilitator account that pays the gas.
class ChainGateway {
 public:
  virtual ~ChainGateway() = default;
  // Chain id the endpoint serves (eth_chainId, cached).
  virtual absl::StatusOr<uint64_t> ChainId() = 0;
  // The facilitator account (gas payer, msg.sender of transferWithAuthorization).
  virtual evm::Address SignerAddress() const = 0;
  // Whether `token` has code (eth_getCode != "0x").
  virtual absl::StatusOr<bool> HasCode(const evm::Address& token) = 0;
  virtual absl::StatusOr<evm::Uint256> BalanceOf(const evm::Address& token,
                                                 const evm::Address& owner) = 0;
  // authorizationState(authorizer, nonce): true when used or cancelled on chain.
  virtual absl::StatusOr<bool> AuthorizationUsed(const evm::Address& token,
                                                 const evm::Address& authorizer,
                                                 const evm::Bytes32& nonce) = 0;
  // eth_call of transferWithAuthorization from the signer; a revert is an answer (ok=false).
  virtual absl::StatusOr<Simulation> SimulateTransfer(const evm::Address& token,
                                                      const evm::TransferAuthorization& auth,
                                                      const crypto::Signature65& signature) = 0;
  // Builds and signs the EIP-1559 transaction calling transferWithAuthorization (gas estimate,
  // fees, the signer's next account nonce) WITHOUT broadcasting it, so the caller can record the
  // hash first. A revert at gas estimation is FailedPrecondition with the revert text as message;
  // transport failures are Unavailable. Prepare and Broadcast of one transfer must be called in
  // order; the gateway serialises account nonces (concurrent transfers never collide).
  virtual absl::StatusOr<PreparedTransfer> PrepareTransfer(
      const evm::Address& token, const evm::TransferAuthorization& auth,
      const crypto::Signature65& signature) = 0;
  // eth_sendRawTransaction. OK also when the node already knows the transaction (a rebroadcast).
  // FailedPrecondition: rejected by the node (message = its error); Unavailable: transport
  // failure, unknown whether it arrived.
  virtual absl::Status Broadcast(const PreparedTransfer& transfer) = 0;
  // Whether the node knows the transaction (eth_getTransactionByHash != null).
  virtual absl::StatusOr<bool> TransactionKnown(std::string_view tx_hash) = 0;
  // The receipt of `tx_hash`, nullopt while not mined.
  virtual absl::StatusOr<std::optional<ChainReceipt>> GetReceipt(std::string_view tx_hash) = 0;
};

// Bazaar listings.
class BazaarStore {
 public:
  virtual ~BazaarStore() = default;
  // Stores a new listing (id and created_unix_ms already set by the core).
  virtual absl::Status Create(const v1::Listing& listing) = 0;
  // Listings in creation order after `page_token` (an opaque cursor), at most page_size.
  virtual absl::StatusOr<v1::ListListingsResponse> List(std::string_view page_token,
                                                        int page_size) = 0;
  // Every listing (discovery ranks them in the core); bounded by the store's listing cap.
  virtual absl::StatusOr<std::vector<v1::Listing>> All() = 0;
  // Counts a settlement outcome for listings whose pay_to (lowercase compare) is `pay_to`; a
  // settled one also adds `amount_micro_usd` (>= 0) to their volume.
  virtual absl::Status RecordOutcome(std::string_view pay_to, bool settled,
                                     int64_t amount_micro_usd) = 0;
};

}  // namespace p402::settlement
