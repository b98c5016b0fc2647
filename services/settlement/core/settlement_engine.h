// File: services/settlement/core/settlement_engine.h
// The settlement service's logic behind its RPCs (proto/p402/v1/settlement.proto), over the ports
// of ports.h. Blocking (the store, the ledger and the chain are called synchronously; the rpc
// layer runs it on worker threads); thread-safe.
//
// Verify = VerifyPayload (verifier.h, stateless) then, in order: the payment store (a key already
// claimed by another owner, submitted or settled -> invalid_exact_evm_nonce_already_used; with
// claim=true the key is claimed for meta.request_id), then the chain when one is configured:
// token has code (asset_not_deployed_contract), authorizationState (nonce_already_used),
// balanceOf >= value (invalid_exact_evm_insufficient_balance). A store or chain failure is
// Unavailable (fail closed: nothing is accepted unchecked). A claim made by a Verify that then
// fails a chain check is released again.
//
// Settle (idempotent on PaymentKey, X402.md 4):
//   verify again (stateless) -> claim (or find the existing record):
//     kSettled          -> the first result (success, duplicate=true);
//     kSubmitted        -> reconcile: receipt mined -> finish as below; else rebroadcast the stored
//                          raw transaction and answer settlement_pending;
//     kClaimed by other -> nonce_already_used; kFailed with a tx -> that failure again;
//     kFailed without a tx (nothing was broadcast) -> claimed again and settled now.
//   -> simulate (revert text mapped to a reason as @x402/evm does) -> PrepareTransfer -> record
//   kSubmitted with hash + raw tx BEFORE broadcasting (a crash after this point never re-signs a
//   second transaction: the reconciler rebroadcasts the same one) -> Broadcast -> poll the receipt
//   until terms.receipt_timeout: status ok AND a Transfer(from, payTo, value) log of the token
//   -> kSettled, ledger entries; failed status -> invalid_exact_evm_transaction_failed; no
//   Transfer log -> invalid_exact_evm_transfer_event_mismatch; timeout -> settlement_pending.
//   Chain unreachable before anything was signed -> kFailed without a tx, a "payment_failed"
//   ledger entry saying why, success=false (unexpected_settle_error); the payer was not charged and
//   may present the payment again.
//
// Ledger entries of a settled payment (idempotency keys derived from the PaymentKey, so retries
// and replays never double-book): account = (meta.tenant_id, meta.session_id), or
// ("wallet:<payer lowercase>", "") when there is no tenant;
//   Settle with charged_micro_usd > 0 (a paid chat; charged = the provider cost): "payment"
//     +amount, then "usage" -(charged + FeeSchedule fee at the tenant's monthly tier, 2% without a
//     tenant), never more than the amount paid -- the balance keeps the unspent part of the
//     worst-case price as the payer's credit;
//   Settle with charged_micro_usd == 0 (facilitator API): one record-only "payment" entry (amount
//     0, cost = amount) on account ("facilitator:<payTo lowercase>", "");
//   TopUp: "topup" +amount on (meta.tenant_id, session_id).
// The first entry of every settlement shares one key ("x402:<chain>:<asset>:<payer>:<nonce>"), so
// one authorization is booked for one purpose only: a chat settle or top-up that finds it booked
// for something else (or a top-up for another account) answers nonce_already_used, crediting
// nothing. A ledger failure after a confirmed transfer is logged and the settle still succeeds
// (a replay books what is missing); a top-up returns the ledger's error instead (its credit is the
// product; the retry finds the payment settled and books it). ReconcileSubmitted only finishes
// states (and bazaar outcomes); the booking happens when the payer's retry finds it settled.
// Chat settlements and top-ups must pay terms.pay_to (else invalid_exact_evm_recipient_mismatch);
// facilitator settlements pay whoever the seller's requirement names, in terms.asset on
// terms.chain_id only (else asset / network mismatch).
// Settle checks the validity window only when it is about to send a new transaction, so a replay
// after validBefore still finds the first result. A failed settle (simulation/estimation revert,
// chain down, node rejection) is recorded kFailed without a tx plus a "payment_failed" note and may
// be presented again; a transaction that was mined and failed (reverted, no Transfer log) is final.
// Concurrent settles of one payment inside a process are serialised (one transaction is ever
// prepared); across processes the store's compare-and-set decides.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/fee_schedule.h"
#include "services/settlement/core/payment_terms.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

// The x402 reason for a revert text, as @x402/evm maps it (X402.md 2.3): "expired|valid before" ->
// valid_before, "not yet valid" -> valid_after, "used" -> nonce_already_used, "exceeds balance|
// insufficient balance" -> insufficient_balance, "invalid signature|invalidsignatures|
// signermismatch" -> signature; anything else -> `fallback`. Case-insensitive.
std::string_view ReasonForRevert(std::string_view revert_text, std::string_view fallback);

// Reason code for a token address without code (@x402/evm).
inline constexpr std::string_view kAssetNotDeployed = "asset_not_deployed_contract";
// ReasonOf the FAILED_PRECONDITION of SettlePayment/TopUp without a chain.
inline constexpr std::string_view kSettlementNotConfigured = "settlement_not_configured";

struct EngineDeps {
  PaymentTerms terms;
  FeeSchedule fees = FeeSchedule::Default();
  PaymentStore* payments = nullptr;  // required
  Ledger* ledger = nullptr;          // required
  ChainGateway* chain = nullptr;     // optional: none = verify without chain checks, no settling
  BazaarStore* bazaar = nullptr;     // optional: settlement outcomes update listings
  const Clock* clock = nullptr;      // required
};

class SettlementEngine {
 public:
  // InvalidArgument when required deps are missing or the terms are invalid.
  static absl::StatusOr<std::unique_ptr<SettlementEngine>> Create(EngineDeps deps);

  absl::StatusOr<v1::GetPaymentRequirementsResponse> GetPaymentRequirements(
      const v1::GetPaymentRequirementsRequest& request);
  absl::StatusOr<v1::VerifyPaymentResponse> VerifyPayment(const v1::VerifyPaymentRequest& request);
  absl::StatusOr<v1::SettlePaymentResponse> SettlePayment(const v1::SettlePaymentRequest& request);
  absl::StatusOr<v1::ReleasePaymentResponse> ReleasePayment(
      const v1::ReleasePaymentRequest& request);
  // Without a chain nothing can be settled: no kinds, no signers.
  v1::GetSupportedResponse GetSupported() const;
  // The offer a POST /v2/topup without payment answers with (amount in micro-USD).
  absl::StatusOr<v1::PaymentRequirement> TopUpRequirement(int64_t amount_micro_usd, int version,
                                                          std::string_view resource);
  absl::StatusOr<v1::TopUpResponse> TopUp(const v1::TopUpRequest& request);
  absl::StatusOr<v1::RecordUsageResponse> RecordUsage(const v1::RecordUsageRequest& request);
  absl::StatusOr<v1::GetBalanceResponse> GetBalance(const v1::GetBalanceRequest& request);
  absl::StatusOr<v1::ListUsageResponse> ListUsage(const v1::ListUsageRequest& request);

  // Prepaid spending (settlement_engine_holds.cc). Ledger keys: "hold:<hold_id>" for the hold
  // (amount -(worst case + fee)) and "hold:<hold_id>:end" shared by its capture and its release,
  // so exactly one of them ever ends a hold; the ledger's atomic Append keeps the balance >= 0.
  // HoldBalance: InvalidArgument without meta.tenant_id, with hold_id outside 1..128 chars or
  // amount <= 0, or when hold_id was used for another account. held=false with reason
  // "no_prepaid_account" (never topped up) or "insufficient_balance" (not errors). A repeated
  // hold_id answers the first hold (held=true). Ledger failures (Unavailable) are returned.
  absl::StatusOr<v1::HoldBalanceResponse> HoldBalance(const v1::HoldBalanceRequest& request);
  // Charges min(cost + fee at the tenant's monthly tier, hold) and returns the rest of the hold.
  // captured=false when the hold does not exist or was released; a replay answers the first
  // capture with duplicate=true. InvalidArgument: bad hold_id, cost < 0, hold of another tenant.
  absl::StatusOr<v1::CaptureHoldResponse> CaptureHold(const v1::CaptureHoldRequest& request);
  // Returns the whole hold. released=false when it does not exist or was captured; a replay of a
  // release answers released=true. InvalidArgument: bad hold_id, hold of another tenant.
  absl::StatusOr<v1::ReleaseHoldResponse> ReleaseHold(const v1::ReleaseHoldRequest& request);
  // Finishes kSubmitted payments (after a restart, and periodically): receipt -> settled/failed;
  // unknown to the node -> rebroadcast. Returns how many records changed state.
  absl::StatusOr<int> ReconcileSubmitted(int limit = 100);

  const PaymentTerms& terms() const { return deps_.terms; }

 private:
  struct SettleResult;  // settlement_engine_settle.cc
  // What a settlement pays for: it decides the ledger account and entries.
  enum class Purpose { kChat, kFacilitator, kTopUp };
  struct Account {
    std::string tenant_id;
    std::string session_id;
  };
  // Serialises the settlement of one PaymentKey inside this process (RAII), so that concurrent
  // calls for the same payment never prepare two transactions; across processes the store's
  // compare-and-set still guards.
  class KeyLock;

  explicit SettlementEngine(EngineDeps deps) : deps_(std::move(deps)) {}

  // Verify (stateless) + claim + chain for one payment; no ledger entries but "payment_failed".
  absl::StatusOr<SettleResult> SettleOnce(const v1::RequestMeta& meta,
                                          std::string_view payload_json,
                                          const v1::PaymentRequirement& requirement,
                                          Purpose purpose);
  // Waits for the receipt of a kSubmitted record (rebroadcasting a transaction the node does not
  // know) and finishes it; settlement_pending when it is not mined in time.
  v1::SettlePaymentResponse FinishSubmitted(const PaymentRecord& record, bool wait);
  // Receipt seen: kSettled / kFailed, bazaar outcome.
  v1::SettlePaymentResponse Complete(const PaymentRecord& record, const ChainReceipt& receipt,
                                     bool* changed);
  // Marks a claimed payment failed without a transaction (nothing broadcast: the payer may
  // present it again) and notes it in the ledger.
  v1::SettlePaymentResponse FailUnbroadcast(const PaymentRecord& record, PaymentState expected,
                                            const Account& account, std::string_view reason,
                                            std::string message);
  // The tenant's fee-tier volume this month; 0 without a tenant or when the ledger cannot say.
  MicroUsd MonthlyVolume(std::string_view tenant_id);
  // The hold entry of `hold_id` if it exists and is a hold; InvalidArgument for a bad hold_id or a
  // hold of another tenant than `tenant_id` (when set).
  absl::StatusOr<std::optional<LedgerEntry>> FindHold(std::string_view hold_id,
                                                      std::string_view tenant_id);
  static Account AccountFor(const v1::RequestMeta& meta, Purpose purpose,
                            std::string_view payer_lower, std::string_view pay_to_lower);

  EngineDeps deps_;
  absl::Mutex mu_;
  absl::CondVar in_flight_changed_;
  std::set<std::string> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::settlement
