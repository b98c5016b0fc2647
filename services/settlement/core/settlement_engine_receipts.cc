// File: services/settlement/core/settlement_engine_receipts.cc
// SettlementEngine: what happens after a broadcast (receipt polling, rebroadcast of the same
// bytes, settled / failed), failures before one (kFailed without a tx, "payment_failed" notes),
// revert texts mapped to reasons, and the reconciler of submitted transactions.
#include <algorithm>
#include <cctype>
#include <string>
#include <thread>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/crypto/random.h"
#include "libs/x402/reasons.h"
#include "services/settlement/core/engine_internal.h"
#include "services/settlement/core/settlement_engine.h"

namespace p402::settlement {
namespace internal {

v1::SettlePaymentResponse Failure(v1::SettlePaymentResponse response, std::string_view reason,
                                  std::string message) {
  response.set_success(false);
  response.set_error_reason(std::string(reason));
  response.set_error_message(std::move(message));
  return response;
}

// The response a record stands for when another call got there first.
v1::SettlePaymentResponse AnswerFromRecord(v1::SettlePaymentResponse response,
                                           const PaymentRecord& record) {
  switch (record.state) {
    case PaymentState::kSettled:
      response.set_success(true);
      response.set_transaction(record.tx_hash);
      response.set_duplicate(true);
      return response;
    case PaymentState::kSubmitted:
      response.set_transaction(record.tx_hash);
      return Failure(response, x402::kSettlementPending,
                     "the transaction was broadcast; its receipt is not seen yet");
    case PaymentState::kFailed:
      response.set_transaction(record.tx_hash);
      return Failure(response, record.error_reason, record.error_message);
    case PaymentState::kClaimed:
      break;
  }
  return Failure(response, x402::kNonceAlreadyUsed,
                 "this payment is already being used by another request");
}

}  // namespace internal

namespace {

using internal::AnswerFromRecord;
using internal::Failure;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool TransferMatches(const PaymentRecord& record, const evm::abi::TransferLog& log) {
  absl::StatusOr<evm::Address> asset = evm::ParseAddress(record.key.asset);
  absl::StatusOr<evm::Address> from = evm::ParseAddress(record.key.payer);
  absl::StatusOr<evm::Address> to = evm::ParseAddress(record.pay_to);
  absl::StatusOr<evm::Uint256> value = evm::ParseUint256Decimal(record.amount);
  return asset.ok() && from.ok() && to.ok() && value.ok() && log.token == *asset &&
         log.from == *from && log.to == *to && log.value == *value;
}

}  // namespace

std::string_view ReasonForRevert(std::string_view revert_text, std::string_view fallback) {
  std::string text(revert_text);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (Contains(text, "expired") || Contains(text, "valid before")) return x402::kValidBefore;
  if (Contains(text, "not yet valid")) return x402::kValidAfter;
  if (Contains(text, "used")) return x402::kNonceAlreadyUsed;
  if (Contains(text, "exceeds balance") || Contains(text, "insufficient balance")) {
    return x402::kInsufficientBalance;
  }
  if (Contains(text, "invalid signature") || Contains(text, "invalidsignatures") ||
      Contains(text, "signermismatch")) {
    return x402::kSignature;
  }
  return fallback;
}

v1::SettlePaymentResponse SettlementEngine::FailUnbroadcast(const PaymentRecord& record,
                                                            PaymentState expected,
                                                            const Account& account,
                                                            std::string_view reason,
                                                            std::string message) {
  PaymentRecord next = record;
  next.state = PaymentState::kFailed;
  next.tx_hash.clear();
  next.raw_tx.clear();
  next.error_reason = std::string(reason);
  next.error_message = message;
  next.updated_unix_ms = internal::NowMillis(*deps_.clock);
  absl::StatusOr<bool> moved = deps_.payments->Transition(record.key, expected, next);
  if (!moved.ok() || !*moved) {
    P402_LOG(kWarn, "settlement: could not mark a payment failed")
        .Field("payer", record.key.payer)
        .Field("error", moved.ok() ? std::string("state changed") : MessageOf(moved.status()));
  }
  LedgerEntry note;
  note.tenant_id = account.tenant_id;
  note.session_id = account.session_id;
  note.kind = kEntryPaymentFailed;
  // One note per failure (a retry that fails again is another event).
  note.idempotency_key =
      "x402:" + internal::KeyString(record.key) + ":failed:" + crypto::RandomToken("", 8);
  note.request_id = record.claim_owner;
  note.payer = record.key.payer;
  note.note = std::string(reason) + ": " + message;
  absl::StatusOr<AppendResult> appended = deps_.ledger->Append(note);
  if (!appended.ok()) {
    P402_LOG(kWarn, "settlement: could not note a failed payment in the ledger")
        .Field("error", MessageOf(appended.status()));
  }
  v1::SettlePaymentResponse response;
  return Failure(response, reason, std::move(message));
}

v1::SettlePaymentResponse SettlementEngine::Complete(const PaymentRecord& record,
                                                     const ChainReceipt& receipt, bool* changed) {
  PaymentRecord next = record;
  next.updated_unix_ms = internal::NowMillis(*deps_.clock);
  const bool transferred =
      receipt.success && std::any_of(receipt.transfers.begin(), receipt.transfers.end(),
                                     [&](const auto& log) { return TransferMatches(record, log); });
  if (transferred) {
    next.state = PaymentState::kSettled;
  } else {
    next.state = PaymentState::kFailed;
    next.error_reason =
        std::string(receipt.success ? x402::kTransferEventMismatch : x402::kTransactionFailed);
    next.error_message =
        receipt.success
            ? "the transaction succeeded without the expected Transfer log"
            : "the transaction reverted (block " + std::to_string(receipt.block_number) + ")";
  }
  absl::StatusOr<bool> moved =
      deps_.payments->Transition(record.key, PaymentState::kSubmitted, next);
  v1::SettlePaymentResponse response;
  if (!moved.ok() || !*moved) {
    // Another call finished it (or the store is down): answer from what is stored.
    absl::StatusOr<std::optional<PaymentRecord>> now = deps_.payments->Get(record.key);
    if (moved.ok() && now.ok() && now->has_value()) return AnswerFromRecord(response, **now);
    response.set_transaction(record.tx_hash);
    return Failure(response, x402::kSettlementPending,
                   "the transaction is mined but its state could not be recorded yet");
  }
  if (changed != nullptr) *changed = true;
  if (deps_.bazaar != nullptr) {
    // Every settlement uses the configured 6-decimal USD token: atomic units are micro-USD.
    absl::Status outcome = deps_.bazaar->RecordOutcome(
        record.pay_to, transferred,
        transferred ? internal::AmountMicros(record.amount).value_or(0) : 0);
    if (!outcome.ok()) {
      P402_LOG(kWarn, "settlement: bazaar outcome not recorded").Field("error", MessageOf(outcome));
    }
  }
  response.set_transaction(record.tx_hash);
  if (!transferred) return Failure(response, next.error_reason, next.error_message);
  response.set_success(true);
  return response;
}

v1::SettlePaymentResponse SettlementEngine::FinishSubmitted(const PaymentRecord& record,
                                                            bool wait) {
  ChainGateway& chain = *deps_.chain;
  const auto interval = deps_.terms.receipt_poll_interval;
  // Bounded by a poll count as well as by the clock, so a clock that stands still (tests) or
  // jumps cannot make this wait forever.
  const int64_t max_polls = wait ? deps_.terms.receipt_timeout / interval + 1 : 1;
  const auto deadline = deps_.clock->MonotonicNow() + deps_.terms.receipt_timeout;
  bool rebroadcast_checked = false;
  for (int64_t poll = 0; poll < max_polls; ++poll) {
    absl::StatusOr<std::optional<ChainReceipt>> receipt = chain.GetReceipt(record.tx_hash);
    if (receipt.ok() && receipt->has_value()) return Complete(record, **receipt, nullptr);
    if (!rebroadcast_checked && receipt.ok()) {
      // Not mined: make sure the node has it (after a crash between record and broadcast, or a
      // node that dropped it). The same signed bytes: never a second transaction.
      rebroadcast_checked = true;
      absl::StatusOr<bool> known = chain.TransactionKnown(record.tx_hash);
      if (known.ok() && !*known) {
        PreparedTransfer transfer{record.tx_hash, record.raw_tx, 0};
        absl::Status sent = chain.Broadcast(transfer);
        if (!sent.ok()) {
          P402_LOG(kWarn, "settlement: rebroadcast failed")
              .Field("tx", record.tx_hash)
              .Field("error", MessageOf(sent));
        }
      }
    }
    if (poll + 1 >= max_polls || deps_.clock->MonotonicNow() >= deadline) break;
    std::this_thread::sleep_for(interval);
  }
  v1::SettlePaymentResponse response;
  response.set_transaction(record.tx_hash);
  return Failure(response, x402::kSettlementPending,
                 "the transaction was broadcast; its receipt is not seen yet");
}

absl::StatusOr<int> SettlementEngine::ReconcileSubmitted(int limit) {
  if (deps_.chain == nullptr) return 0;  // nothing can have been submitted
  absl::StatusOr<std::vector<PaymentRecord>> submitted =
      deps_.payments->ListSubmitted(std::clamp(limit, 1, 1000));
  if (!submitted.ok()) return submitted.status();
  int changed = 0;
  for (const PaymentRecord& record : *submitted) {
    KeyLock lock(*this, internal::KeyString(record.key));
    absl::StatusOr<std::optional<PaymentRecord>> current = deps_.payments->Get(record.key);
    if (!current.ok()) return current.status();
    if (!current->has_value() || (*current)->state != PaymentState::kSubmitted) continue;
    absl::StatusOr<std::optional<ChainReceipt>> receipt =
        deps_.chain->GetReceipt((*current)->tx_hash);
    if (!receipt.ok()) {
      return Unavailable("chain RPC failed while reading a receipt: " +
                         MessageOf(receipt.status()));
    }
    if (receipt->has_value()) {
      bool moved = false;
      Complete(**current, **receipt, &moved);
      if (moved) ++changed;
      continue;
    }
    absl::StatusOr<bool> known = deps_.chain->TransactionKnown((*current)->tx_hash);
    if (known.ok() && !*known) {
      absl::Status sent = deps_.chain->Broadcast({(*current)->tx_hash, (*current)->raw_tx, 0});
      if (!sent.ok()) {
        P402_LOG(kWarn, "settlement: rebroadcast failed")
            .Field("tx", (*current)->tx_hash)
            .Field("error", MessageOf(sent));
      }
    }
  }
  return changed;
}

}  // namespace p402::settlement
