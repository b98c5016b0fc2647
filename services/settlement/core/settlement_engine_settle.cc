// File: services/settlement/core/settlement_engine_settle.cc
// SettlementEngine: settling (claim, simulate, record-before-broadcast, broadcast), top-ups and
// the ledger entries of a settled payment. Receipts, failures and the reconciler are in
// settlement_engine_receipts.cc.
#include <algorithm>
#include <string>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/crypto/keccak256.h"
#include "libs/x402/reasons.h"
#include "services/settlement/core/engine_internal.h"
#include "services/settlement/core/settlement_engine.h"
#include "services/settlement/core/verifier.h"

namespace p402::settlement {
namespace {

using internal::AnswerFromRecord;
using internal::Failure;

absl::Status NotConfigured() {
  return WithReason(
      FailedPrecondition("settlement is not configured (no chain RPC / facilitator key)"),
      kSettlementNotConfigured);
}

}  // namespace

struct SettlementEngine::SettleResult {
  v1::SettlePaymentResponse response;
  std::optional<x402::PaymentPayload> payload;  // set once parsed
  PaymentKey key;
};

SettlementEngine::Account SettlementEngine::AccountFor(const v1::RequestMeta& meta, Purpose purpose,
                                                       std::string_view payer_lower,
                                                       std::string_view pay_to_lower) {
  if (purpose == Purpose::kFacilitator) return {"facilitator:" + std::string(pay_to_lower), ""};
  if (meta.tenant_id().empty()) return {"wallet:" + std::string(payer_lower), ""};
  return {meta.tenant_id(), meta.session_id()};
}

absl::StatusOr<SettlementEngine::SettleResult> SettlementEngine::SettleOnce(
    const v1::RequestMeta& meta, std::string_view payload_json,
    const v1::PaymentRequirement& requirement, Purpose purpose) {
  SettleResult result;
  v1::SettlePaymentResponse& response = result.response;
  internal::ParsedPayload parsed = internal::Parse(payload_json);
  if (!parsed.payload.has_value()) {
    response = Failure(response, parsed.reason, parsed.message);
    return result;
  }
  result.payload = std::move(parsed.payload);
  const x402::PaymentPayload& payload = *result.payload;
  response.set_network(payload.network);
  response.set_payer(evm::ToChecksum(payload.authorization.from));
  response.set_amount(payload.value_text);

  // Stateless checks, except the validity window: a replay of a settled payment must still find
  // its first result after validBefore. The window is checked before anything new is sent.
  VerifyOptions options = internal::OptionsFor(deps_.terms, *deps_.clock);
  options.check_time = false;
  VerifyResult verified = VerifyPayload(payload, {requirement}, options);
  if (!verified.valid) {
    response = Failure(response, verified.reason, verified.message);
    return result;
  }
  // P402's own sales (chat, top-up) must pay P402, whatever requirement the caller passed.
  if (purpose != Purpose::kFacilitator && payload.authorization.to != deps_.terms.pay_to) {
    response =
        Failure(response, x402::kRecipientMismatch,
                "the payment does not pay P402's address " + evm::ToChecksum(deps_.terms.pay_to));
    return result;
  }

  result.key = internal::KeyOf(deps_.terms, payload);
  KeyLock lock(*this, internal::KeyString(result.key));
  const std::string owner = meta.request_id().empty()
                                ? "facilitator:" + crypto::Keccak256Hex(payload.json)
                                : meta.request_id();
  PaymentRecord record = internal::NewRecord(result.key, owner, requirement, payload,
                                             internal::NowMillis(*deps_.clock));
  absl::StatusOr<std::optional<PaymentRecord>> existing =
      internal::ClaimOrExisting(*deps_.payments, record);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    const PaymentRecord& found = **existing;
    if (found.state == PaymentState::kSubmitted) {
      v1::SettlePaymentResponse finished = FinishSubmitted(found, /*wait=*/true);
      if (finished.success()) finished.set_duplicate(true);
      finished.set_network(response.network());
      finished.set_payer(response.payer());
      finished.set_amount(response.amount());
      response = std::move(finished);
      return result;
    }
    if (found.state != PaymentState::kClaimed || found.claim_owner != owner) {
      response = AnswerFromRecord(response, found);
      return result;
    }
    record = found;  // our own claim (VerifyPayment with claim=true)
  }

  const Account account = AccountFor(meta, purpose, result.key.payer, record.pay_to);
  auto fail = [&](std::string_view reason, std::string message) {
    v1::SettlePaymentResponse failed =
        FailUnbroadcast(record, record.state, account, reason, std::move(message));
    failed.set_network(response.network());
    failed.set_payer(response.payer());
    failed.set_amount(response.amount());
    response = std::move(failed);
    return result;
  };

  VerifyResult window =
      CheckValidityWindow(payload, requirement, internal::OptionsFor(deps_.terms, *deps_.clock));
  if (!window.valid) {
    absl::StatusOr<bool> released = deps_.payments->Release(result.key, owner);
    if (!released.ok()) return released.status();
    response = Failure(response, window.reason, window.message);
    return result;
  }

  ChainGateway& chain = *deps_.chain;
  const evm::TransferAuthorization& auth = payload.authorization;
  absl::StatusOr<Simulation> simulation =
      chain.SimulateTransfer(deps_.terms.asset, auth, payload.signature);
  if (!simulation.ok()) {
    return fail(x402::kUnexpectedSettleError,
                "the chain could not be reached: " + MessageOf(simulation.status()));
  }
  if (!simulation->ok) {
    std::string_view reason = ReasonForRevert(simulation->revert_reason, x402::kSimulationFailed);
    if (reason == x402::kSimulationFailed) {
      // Diagnose as @x402/evm does when the revert text says nothing.
      absl::StatusOr<bool> used = chain.AuthorizationUsed(deps_.terms.asset, auth.from, auth.nonce);
      absl::StatusOr<evm::Uint256> balance = chain.BalanceOf(deps_.terms.asset, auth.from);
      if (used.ok() && *used) {
        reason = x402::kNonceAlreadyUsed;
      } else if (balance.ok() &&
                 std::lexicographical_compare(balance->begin(), balance->end(), auth.value.begin(),
                                              auth.value.end())) {
        reason = x402::kInsufficientBalance;
      }
    }
    return fail(reason, "simulation reverted: " + simulation->revert_reason);
  }

  absl::StatusOr<PreparedTransfer> prepared =
      chain.PrepareTransfer(deps_.terms.asset, auth, payload.signature);
  if (!prepared.ok()) {
    if (prepared.status().code() == absl::StatusCode::kFailedPrecondition) {
      return fail(ReasonForRevert(MessageOf(prepared.status()), x402::kTransactionFailed),
                  "gas estimation reverted: " + MessageOf(prepared.status()));
    }
    return fail(x402::kUnexpectedSettleError,
                "the transaction could not be prepared: " + MessageOf(prepared.status()));
  }

  // Record the hash and the signed bytes BEFORE broadcasting: after a crash the reconciler
  // rebroadcasts this very transaction instead of signing a second one.
  PaymentRecord submitted = record;
  submitted.state = PaymentState::kSubmitted;
  submitted.tx_hash = prepared->tx_hash;
  submitted.raw_tx = prepared->raw_tx;
  submitted.updated_unix_ms = internal::NowMillis(*deps_.clock);
  absl::StatusOr<bool> moved =
      deps_.payments->Transition(result.key, PaymentState::kClaimed, submitted);
  if (!moved.ok()) return moved.status();  // nothing broadcast; the claim stays ours
  if (!*moved) {
    absl::StatusOr<std::optional<PaymentRecord>> now = deps_.payments->Get(result.key);
    if (!now.ok()) return now.status();
    response = now->has_value() ? AnswerFromRecord(response, **now)
                                : Failure(response, x402::kUnexpectedSettleError,
                                          "the claim was released while settling");
    return result;
  }

  absl::Status sent = chain.Broadcast(*prepared);
  if (!sent.ok() && sent.code() != absl::StatusCode::kUnavailable) {
    // Rejected by the node: nothing is pending, the authorization is unused.
    record = submitted;
    return fail(x402::kUnexpectedSettleError,
                "the node rejected the transaction: " + MessageOf(sent));
  }
  // Unavailable: it may have arrived; the receipt (or a rebroadcast) tells.
  v1::SettlePaymentResponse finished = FinishSubmitted(submitted, /*wait=*/true);
  finished.set_network(response.network());
  finished.set_payer(response.payer());
  finished.set_amount(response.amount());
  response = std::move(finished);
  return result;
}

absl::StatusOr<v1::SettlePaymentResponse> SettlementEngine::SettlePayment(
    const v1::SettlePaymentRequest& request) {
  if (deps_.chain == nullptr) return NotConfigured();
  if (request.charged_micro_usd() < 0) {
    return InvalidArgument("charged_micro_usd must not be negative");
  }
  // P402's own chat offers carry their routing mode; a seller's requirement (facilitator API,
  // decoded from JSON) never does.
  const Purpose purpose = request.requirement().mode() != v1::ROUTING_MODE_UNSPECIFIED
                              ? Purpose::kChat
                              : Purpose::kFacilitator;
  absl::StatusOr<SettleResult> settled =
      SettleOnce(request.meta(), request.payment_payload_json(), request.requirement(), purpose);
  if (!settled.ok()) return settled.status();
  v1::SettlePaymentResponse& response = settled->response;
  if (!response.success()) return response;

  // Ledger entries, idempotent on the payment (a replay books nothing twice). The transfer is
  // final whatever happens here, so a ledger failure is logged, not returned; a replay of the
  // settlement books what is missing.
  const PaymentKey& key = settled->key;
  const std::string stem = "x402:" + internal::KeyString(key);
  const int64_t paid = internal::AmountMicros(response.amount()).value_or(0);
  absl::StatusOr<evm::Address> pay_to = evm::ParseAddress(request.requirement().pay_to());
  const Account account =
      AccountFor(request.meta(), purpose, key.payer, pay_to.ok() ? evm::ToLowerHex(*pay_to) : "");
  LedgerEntry payment;
  payment.tenant_id = account.tenant_id;
  payment.session_id = account.session_id;
  payment.kind = kEntryPayment;
  payment.idempotency_key = stem;
  payment.request_id = request.meta().request_id();
  payment.transaction = response.transaction();
  payment.payer = key.payer;
  if (purpose == Purpose::kFacilitator) {
    payment.cost_micro_usd = paid;  // record only: the money went to a third party
    payment.note = "facilitator settlement";
  } else {
    payment.amount_micro_usd = paid;  // credit; the usage entry below spends the cost of the call
    payment.note = "pay-per-call payment";
  }
  absl::StatusOr<AppendResult> booked = deps_.ledger->Append(payment);
  if (!booked.ok()) {
    P402_LOG(kError, "settlement: payment settled but not booked")
        .Field("tx", response.transaction())
        .Field("error", MessageOf(booked.status()));
    return response;
  }
  if (purpose == Purpose::kFacilitator) return response;
  if (booked->duplicate &&
      (booked->entry.kind != kEntryPayment || booked->entry.amount_micro_usd <= 0)) {
    // The authorization was settled for something else (a top-up, a third party's sale).
    v1::SettlePaymentResponse used = response;
    used.set_duplicate(false);
    return Failure(used, x402::kNonceAlreadyUsed,
                   "this payment was already settled for another purpose");
  }

  // The call's cost plus P402's fee, never more than what was paid.
  MicroUsd volume = 0;
  if (!request.meta().tenant_id().empty()) {
    absl::StatusOr<int64_t> since = deps_.ledger->VolumeSince(
        request.meta().tenant_id(), internal::MonthStartMillis(internal::NowMillis(*deps_.clock)));
    if (since.ok()) volume = *since;
  }
  const MicroUsd charged = std::min<MicroUsd>(request.charged_micro_usd(), paid);
  const MicroUsd fee = deps_.fees.FeeFor(request.charged_micro_usd(), volume);
  const MicroUsd total = std::min<MicroUsd>(AddMoney(charged, fee).value_or(paid), paid);
  LedgerEntry usage;
  usage.tenant_id = booked->entry.tenant_id;
  usage.session_id = booked->entry.session_id;
  usage.kind = kEntryUsage;
  usage.amount_micro_usd = -total;
  usage.cost_micro_usd = total;
  usage.platform_fee_micro_usd = total - charged;
  usage.idempotency_key = stem + ":usage";
  usage.request_id = request.meta().request_id();
  usage.transaction = response.transaction();
  usage.payer = key.payer;
  usage.note = "pay-per-call usage";
  response.set_charged_micro_usd(total);
  response.set_platform_fee_micro_usd(total - charged);
  response.set_credit_micro_usd(paid - total);
  absl::StatusOr<AppendResult> spent = deps_.ledger->Append(usage);
  if (!spent.ok()) {
    P402_LOG(kError, "settlement: pay-per-call usage not booked")
        .Field("tx", response.transaction())
        .Field("error", MessageOf(spent.status()));
  }
  return response;
}

absl::StatusOr<v1::TopUpResponse> SettlementEngine::TopUp(const v1::TopUpRequest& request) {
  if (deps_.chain == nullptr) return NotConfigured();
  if (request.meta().tenant_id().empty()) return InvalidArgument("meta.tenant_id is required");
  v1::RequestMeta meta = request.meta();
  meta.set_session_id(request.session_id());
  absl::StatusOr<SettleResult> settled =
      SettleOnce(meta, request.payment_payload_json(), request.requirement(), Purpose::kTopUp);
  if (!settled.ok()) return settled.status();
  v1::TopUpResponse response;
  *response.mutable_settlement() = settled->response;
  if (!settled->response.success()) return response;

  LedgerEntry credit;
  credit.tenant_id = meta.tenant_id();
  credit.session_id = meta.session_id();
  credit.kind = kEntryTopUp;
  credit.amount_micro_usd = internal::AmountMicros(settled->response.amount()).value_or(0);
  credit.idempotency_key = "x402:" + internal::KeyString(settled->key);
  credit.request_id = meta.request_id();
  credit.transaction = settled->response.transaction();
  credit.payer = settled->key.payer;
  credit.note = "x402 top-up";
  // The credit is the product: unlike a chat payment, a top-up that cannot be booked is an error
  // (the caller retries; the settlement is found settled and booked then).
  absl::StatusOr<AppendResult> booked = deps_.ledger->Append(credit);
  if (!booked.ok()) return booked.status();
  const LedgerEntry& entry = booked->entry;
  if (booked->duplicate && (entry.kind != kEntryTopUp || entry.tenant_id != credit.tenant_id ||
                            entry.session_id != credit.session_id)) {
    v1::SettlePaymentResponse used = settled->response;
    used.set_duplicate(false);
    *response.mutable_settlement() = Failure(
        used, x402::kNonceAlreadyUsed, "this payment was already settled for another purpose");
    return response;
  }
  response.set_credited_micro_usd(entry.amount_micro_usd);
  response.set_balance_micro_usd(entry.balance_after_micro_usd);
  response.set_entry_id(entry.entry_id);
  response.set_duplicate(booked->duplicate);
  return response;
}

}  // namespace p402::settlement
