// File: services/settlement/core/records.h
// Plain records of the settlement core: the state of one x402 payment (keyed by the
// authorization, never by signature bytes: a high-s twin must not look like a new payment), ledger
// entries and balances, and what the chain tells about a transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libs/evm/abi.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"

namespace p402::settlement {

// One EIP-3009 authorization: unique per (chain, token, payer, nonce), as on chain.
struct PaymentKey {
  uint64_t chain_id = 0;
  std::string asset;  // token, 0x + 40 lowercase hex
  std::string payer;  // 0x + 40 lowercase hex
  std::string nonce;  // 0x + 64 lowercase hex
  friend bool operator==(const PaymentKey&, const PaymentKey&) = default;
};

enum class PaymentState {
  kClaimed,    // verified and reserved for one request (claim_owner); nothing broadcast
  kSubmitted,  // transaction broadcast (tx_hash), receipt not yet seen
  kSettled,    // receipt seen, Transfer log checked
  kFailed,     // settlement failed for good (error_reason); a tx_hash if one was broadcast
};

struct PaymentRecord {
  PaymentKey key;
  PaymentState state = PaymentState::kClaimed;
  // request id that claimed it (chat path) or "facilitator:<digest>" for facilitator /settle.
  std::string claim_owner;
  std::string pay_to;          // 0x + 40 lowercase hex
  std::string amount;          // atomic units, decimal
  std::string network;         // as the payment named it ("base-sepolia" / "eip155:84532")
  int64_t valid_before = 0;    // unix seconds (the claim is worthless after it)
  std::string tx_hash;         // "" until signed for broadcast
  std::string raw_tx;          // "0x..." signed transaction (to rebroadcast after a crash)
  std::string error_reason;    // kFailed
  std::string error_message;   // kFailed
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
};

// Ledger entry kinds.
inline constexpr char kEntryTopUp[] = "topup";          // credit from an x402 payment
inline constexpr char kEntryUsage[] = "usage";          // a call (deducts when prepaid)
inline constexpr char kEntryPayment[] = "payment";      // a pay-per-call payment settled
inline constexpr char kEntryPaymentFailed[] = "payment_failed";  // settle failed: not charged
// Prepaid spending: a hold takes the worst case off the balance; exactly one of capture (the
// unused part back, cost recorded) or hold_release (all of it back) ends it.
inline constexpr char kEntryHold[] = "hold";
inline constexpr char kEntryCapture[] = "capture";
inline constexpr char kEntryHoldRelease[] = "hold_release";

struct LedgerEntry {
  std::string entry_id;         // assigned by the ledger ("le_...")
  std::string tenant_id;        // account owner; pay-per-call entries use "wallet:<payer>"
  std::string session_id;       // "" = the tenant's own account
  std::string kind;             // kEntry*
  // Change of the prepaid balance: > 0 credit, < 0 deduction, 0 for record-only entries.
  int64_t amount_micro_usd = 0;
  int64_t cost_micro_usd = 0;           // usage/payment: what the call cost (fee included)
  int64_t platform_fee_micro_usd = 0;
  int64_t balance_before_micro_usd = 0;  // assigned by the ledger
  int64_t balance_after_micro_usd = 0;   // assigned by the ledger
  std::string idempotency_key;  // unique across the ledger; required
  std::string request_id;
  std::string transaction;      // settlement tx hash, if any
  std::string payer;            // payer wallet, if any
  std::string provider;         // usage: model that answered
  std::string model;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  bool cost_estimated = false;
  std::string note;             // why (payment_failed: the reason code and message)
  int64_t created_unix_ms = 0;  // assigned by the ledger when 0
};

// How an entry moves an account's totals (Balance). Holds and their release move only the
// balance (money set aside, not spent); a capture spends its cost; any other entry counts by
// sign (credits are top-ups/payments, debits are spending). So at all times
// total_topped_up - total_spent = balance + open holds.
struct TotalsDelta {
  int64_t topped_up = 0;
  int64_t spent = 0;
};
inline TotalsDelta TotalsDeltaOf(const LedgerEntry& entry) {
  std::string_view kind = entry.kind;
  if (kind == kEntryHold || kind == kEntryHoldRelease) return {};
  if (kind == kEntryCapture) return {.spent = entry.cost_micro_usd};
  if (entry.amount_micro_usd > 0) return {.topped_up = entry.amount_micro_usd};
  return {.spent = -entry.amount_micro_usd};
}

struct AppendResult {
  LedgerEntry entry;       // as stored (the first one on a duplicate)
  bool duplicate = false;  // idempotency_key was already recorded; nothing changed
};

struct Balance {
  int64_t balance_micro_usd = 0;
  int64_t total_topped_up_micro_usd = 0;  // sum of credits
  int64_t total_spent_micro_usd = 0;      // sum of deductions (positive)
};

struct LedgerPage {
  std::vector<LedgerEntry> entries;  // oldest first
  std::string next_page_token;       // "" = last page
};

// A mined transaction as the chain reports it.
struct ChainReceipt {
  bool success = false;  // status 0x1
  uint64_t block_number = 0;
  std::vector<evm::abi::TransferLog> transfers;  // decoded Transfer logs, in order
};

// A signed transferWithAuthorization transaction, not yet broadcast.
struct PreparedTransfer {
  std::string tx_hash;  // "0x" + 64 hex
  std::string raw_tx;   // "0x" + hex of the signed transaction
  uint64_t account_nonce = 0;
};

// Outcome of an eth_call simulation of transferWithAuthorization.
struct Simulation {
  bool ok = false;
  std::string revert_reason;  // decoded Error(string), or the RPC error message
};

}  // namespace p402::settlement
