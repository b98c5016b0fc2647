// File: services/settlement/core/settlement_engine.cc
// SettlementEngine: creation, offers, verification (with claims), release, /supported and the
// ledger RPCs. Settling, top-ups and reconciliation are in settlement_engine_settle.cc.
#include "services/settlement/core/settlement_engine.h"

#include <charconv>
#include <chrono>
#include <string>
#include <vector>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/x402/network.h"
#include "libs/x402/reasons.h"
#include "services/settlement/core/engine_internal.h"
#include "services/settlement/core/requirements.h"
#include "services/settlement/core/verifier.h"

namespace p402::settlement {
namespace internal {

VerifyOptions OptionsFor(const PaymentTerms& terms, const Clock& clock) {
  VerifyOptions options;
  const int64_t now_ms = NowMillis(clock);
  options.now_unix_seconds = now_ms < 0 ? 0 : static_cast<uint64_t>(now_ms / 1000);
  options.valid_before_margin_seconds = terms.valid_before_margin_seconds;
  options.expected_chain_id = terms.chain_id;
  options.expected_asset = terms.asset;
  return options;
}

int64_t MonthStartMillis(int64_t now_unix_ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(now_unix_ms)));
  const year_month_day ymd(day);
  const sys_days first = sys_days(ymd.year() / ymd.month() / 1);
  return duration_cast<milliseconds>(first.time_since_epoch()).count();
}

std::string NonceHex(const evm::Bytes32& nonce) {
  return "0x" + crypto::HexEncode(std::span<const uint8_t>(nonce.data(), nonce.size()));
}

PaymentKey KeyOf(const PaymentTerms& terms, const x402::PaymentPayload& payload) {
  PaymentKey key;
  key.chain_id = terms.chain_id;
  key.asset = evm::ToLowerHex(terms.asset);
  key.payer = evm::ToLowerHex(payload.authorization.from);
  key.nonce = NonceHex(payload.authorization.nonce);
  return key;
}

std::string KeyString(const PaymentKey& key) {
  return std::to_string(key.chain_id) + ":" + key.asset + ":" + key.payer + ":" + key.nonce;
}

PaymentRecord NewRecord(const PaymentKey& key, std::string_view owner,
                        const v1::PaymentRequirement& offer, const x402::PaymentPayload& payload,
                        int64_t now_ms) {
  PaymentRecord record;
  record.key = key;
  record.state = PaymentState::kClaimed;
  record.claim_owner = std::string(owner);
  absl::StatusOr<evm::Address> pay_to = evm::ParseAddress(offer.pay_to());
  record.pay_to = pay_to.ok() ? evm::ToLowerHex(*pay_to) : offer.pay_to();
  record.amount = offer.amount();
  record.network = payload.network;
  const std::optional<uint64_t> valid_before = Uint256ToU64(payload.authorization.valid_before);
  record.valid_before = valid_before.has_value() && *valid_before < INT64_MAX
                            ? static_cast<int64_t>(*valid_before)
                            : INT64_MAX;
  record.created_unix_ms = now_ms;
  record.updated_unix_ms = now_ms;
  return record;
}

absl::StatusOr<std::optional<PaymentRecord>> ClaimOrExisting(PaymentStore& store,
                                                             const PaymentRecord& record) {
  // Bounded: each round either claims, finds a live record, or removes a dead one.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<std::optional<PaymentRecord>> existing = store.Claim(record);
    if (!existing.ok()) return existing.status();
    if (!existing->has_value()) return existing;
    const PaymentRecord& found = **existing;
    if (found.state != PaymentState::kFailed || !found.tx_hash.empty()) return existing;
    absl::StatusOr<bool> released = store.Release(found.key, found.claim_owner);
    if (!released.ok()) return released.status();
  }
  return Unavailable("payment store: the payment keeps changing state, retry");
}

ParsedPayload Parse(std::string_view payload_json) {
  ParsedPayload parsed;
  absl::StatusOr<x402::PaymentPayload> payload = x402::ParsePaymentPayload(payload_json);
  if (payload.ok()) {
    parsed.payload = std::move(*payload);
  } else {
    parsed.reason = ReasonOf(payload.status()).value_or(std::string(x402::kInvalidPayload));
    parsed.message = MessageOf(payload.status());
  }
  return parsed;
}

std::optional<int64_t> AmountMicros(std::string_view decimal) {
  int64_t out = 0;
  if (decimal.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(decimal.data(), decimal.data() + decimal.size(), out);
  if (ec != std::errc() || ptr != decimal.data() + decimal.size() || out < 0) return std::nullopt;
  return out;
}

}  // namespace internal

namespace {

bool Less(const evm::Uint256& a, const evm::Uint256& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

absl::Status ChainUnavailable(const absl::Status& status, std::string_view what) {
  return Unavailable("chain RPC failed while " + std::string(what) + ": " + MessageOf(status));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SettlementEngine>> SettlementEngine::Create(EngineDeps deps) {
  if (deps.payments == nullptr)
    return InvalidArgument("settlement engine: a PaymentStore is required");
  if (deps.ledger == nullptr) return InvalidArgument("settlement engine: a Ledger is required");
  if (deps.clock == nullptr) return InvalidArgument("settlement engine: a Clock is required");
  absl::Status terms = ValidateTerms(deps.terms);
  if (!terms.ok()) return terms;
  return std::unique_ptr<SettlementEngine>(new SettlementEngine(std::move(deps)));
}

absl::StatusOr<v1::GetPaymentRequirementsResponse> SettlementEngine::GetPaymentRequirements(
    const v1::GetPaymentRequirementsRequest& request) {
  MicroUsd volume = 0;
  if (!request.meta().tenant_id().empty()) {
    absl::StatusOr<int64_t> since = deps_.ledger->VolumeSince(
        request.meta().tenant_id(), internal::MonthStartMillis(internal::NowMillis(*deps_.clock)));
    if (!since.ok()) return since.status();
    volume = *since;
  }
  return BuildRequirements(deps_.terms, deps_.fees, volume, request);
}

absl::StatusOr<v1::VerifyPaymentResponse> SettlementEngine::VerifyPayment(
    const v1::VerifyPaymentRequest& request) {
  if (request.accepted().empty()) {
    return InvalidArgument("accepted must list at least one payment requirement");
  }
  if (request.claim() && request.meta().request_id().empty()) {
    return InvalidArgument("meta.request_id is required to claim a payment");
  }
  v1::VerifyPaymentResponse response;
  response.set_matched_index(-1);
  internal::ParsedPayload parsed = internal::Parse(request.payment_payload_json());
  if (!parsed.payload.has_value()) {
    response.set_invalid_reason(parsed.reason);
    response.set_invalid_message(parsed.message);
    return response;
  }
  const x402::PaymentPayload& payload = *parsed.payload;
  response.set_x402_version(payload.version);
  response.set_nonce(internal::NonceHex(payload.authorization.nonce));

  const std::vector<v1::PaymentRequirement> offers(request.accepted().begin(),
                                                   request.accepted().end());
  VerifyResult result =
      VerifyPayload(payload, offers, internal::OptionsFor(deps_.terms, *deps_.clock));
  response.set_payer(result.payer);
  response.set_matched_index(result.matched_index);
  if (result.matched_index >= 0) *response.mutable_matched() = offers[result.matched_index];
  auto invalid = [&response](std::string_view reason, std::string message) {
    response.set_valid(false);
    response.set_invalid_reason(std::string(reason));
    response.set_invalid_message(std::move(message));
    return response;
  };
  if (!result.valid) return invalid(result.reason, result.message);

  // The store: a payment already claimed by another request, submitted or settled is used.
  const PaymentKey key = internal::KeyOf(deps_.terms, payload);
  const std::string& owner = request.meta().request_id();
  bool claimed_now = false;
  std::optional<PaymentRecord> existing;
  if (request.claim()) {
    PaymentRecord record = internal::NewRecord(key, owner, offers[result.matched_index], payload,
                                               internal::NowMillis(*deps_.clock));
    absl::StatusOr<std::optional<PaymentRecord>> claim =
        internal::ClaimOrExisting(*deps_.payments, record);
    if (!claim.ok()) return claim.status();
    existing = std::move(*claim);
    claimed_now = !existing.has_value();
  } else {
    absl::StatusOr<std::optional<PaymentRecord>> found = deps_.payments->Get(key);
    if (!found.ok()) return found.status();
    existing = std::move(*found);
    if (existing.has_value() && existing->state == PaymentState::kFailed &&
        existing->tx_hash.empty()) {
      existing.reset();  // nothing was broadcast: the authorization is unused
    }
  }
  if (existing.has_value() && !(existing->state == PaymentState::kClaimed && !owner.empty() &&
                                existing->claim_owner == owner)) {
    return invalid(x402::kNonceAlreadyUsed,
                   existing->state == PaymentState::kClaimed
                       ? "this payment is already being used by another request"
                       : "this payment was already presented for settlement");
  }

  // The chain, when configured: fail closed on errors, and give the claim back on any failure.
  if (deps_.chain != nullptr) {
    auto drop_claim = [&] {
      if (!claimed_now) return;
      absl::StatusOr<bool> released = deps_.payments->Release(key, owner);
      if (!released.ok()) {
        P402_LOG(kWarn, "settlement: could not release a claim")
            .Field("error", MessageOf(released.status()));
      }
    };
    const evm::TransferAuthorization& auth = payload.authorization;
    absl::StatusOr<bool> has_code = deps_.chain->HasCode(deps_.terms.asset);
    if (!has_code.ok()) {
      drop_claim();
      return ChainUnavailable(has_code.status(), "reading the token's code");
    }
    if (!*has_code) {
      drop_claim();
      return invalid(kAssetNotDeployed,
                     "the token has no code on chain " + std::to_string(deps_.terms.chain_id));
    }
    absl::StatusOr<bool> used =
        deps_.chain->AuthorizationUsed(deps_.terms.asset, auth.from, auth.nonce);
    if (!used.ok()) {
      drop_claim();
      return ChainUnavailable(used.status(), "reading authorizationState");
    }
    if (*used) {
      drop_claim();
      return invalid(x402::kNonceAlreadyUsed, "the authorization was already used on chain");
    }
    absl::StatusOr<evm::Uint256> balance = deps_.chain->BalanceOf(deps_.terms.asset, auth.from);
    if (!balance.ok()) {
      drop_claim();
      return ChainUnavailable(balance.status(), "reading the payer's balance");
    }
    if (Less(*balance, auth.value)) {
      drop_claim();
      return invalid(x402::kInsufficientBalance,
                     "the payer's token balance is below " + payload.value_text);
    }
  }
  response.set_valid(true);
  return response;
}

absl::StatusOr<v1::ReleasePaymentResponse> SettlementEngine::ReleasePayment(
    const v1::ReleasePaymentRequest& request) {
  if (request.meta().request_id().empty()) {
    return InvalidArgument("meta.request_id is required to release a payment");
  }
  v1::ReleasePaymentResponse response;
  internal::ParsedPayload parsed = internal::Parse(request.payment_payload_json());
  if (!parsed.payload.has_value()) return response;  // nothing of ours can match it
  const PaymentKey key = internal::KeyOf(deps_.terms, *parsed.payload);
  absl::StatusOr<std::optional<PaymentRecord>> found = deps_.payments->Get(key);
  if (!found.ok()) return found.status();
  // Only our own claim: Release would also drop someone's failed-without-tx record.
  if (!found->has_value() || (*found)->state != PaymentState::kClaimed ||
      (*found)->claim_owner != request.meta().request_id()) {
    return response;
  }
  absl::StatusOr<bool> released = deps_.payments->Release(key, request.meta().request_id());
  if (!released.ok()) return released.status();
  response.set_released(*released);
  if (*released) {
    P402_LOG(kInfo, "settlement: payment released")
        .Field("request_id", request.meta().request_id())
        .Field("payer", key.payer)
        .Field("reason", request.reason());
  }
  return response;
}

v1::GetSupportedResponse SettlementEngine::GetSupported() const {
  v1::GetSupportedResponse response;
  // Without a chain nothing can be settled, so nothing is advertised.
  if (deps_.chain == nullptr) return response;
  v1::SupportedKind* v2 = response.add_kinds();
  v2->set_x402_version(2);
  v2->set_scheme("exact");
  v2->set_network(x402::Caip2(deps_.terms.chain_id));
  if (std::optional<std::string> name = x402::NetworkForVersion(deps_.terms.chain_id, 1)) {
    v1::SupportedKind* v1k = response.add_kinds();
    v1k->set_x402_version(1);
    v1k->set_scheme("exact");
    v1k->set_network(*name);
  }
  response.add_signers(evm::ToChecksum(deps_.chain->SignerAddress()));
  return response;
}

absl::StatusOr<v1::PaymentRequirement> SettlementEngine::TopUpRequirement(
    int64_t amount_micro_usd, int version, std::string_view resource) {
  return BuildAmountRequirement(deps_.terms, amount_micro_usd, version, resource, "");
}

absl::StatusOr<v1::RecordUsageResponse> SettlementEngine::RecordUsage(
    const v1::RecordUsageRequest& request) {
  if (request.meta().tenant_id().empty()) return InvalidArgument("meta.tenant_id is required");
  if (request.idempotency_key().empty()) return InvalidArgument("idempotency_key is required");
  if (request.deduct_micro_usd() < 0) {
    return InvalidArgument("deduct_micro_usd must not be negative");
  }
  LedgerEntry entry;
  entry.tenant_id = request.meta().tenant_id();
  entry.session_id = request.meta().session_id();
  entry.kind = kEntryUsage;
  entry.amount_micro_usd = -request.deduct_micro_usd();
  std::optional<MicroUsd> cost =
      AddMoney(request.cost().total_micro_usd(), request.cost().platform_fee_micro_usd());
  entry.cost_micro_usd = cost.value_or(INT64_MAX);
  entry.platform_fee_micro_usd = request.cost().platform_fee_micro_usd();
  entry.idempotency_key = request.idempotency_key();
  entry.request_id = request.meta().request_id();
  entry.transaction = request.payment_transaction();
  entry.provider = request.model().provider();
  entry.model = request.model().model();
  entry.input_tokens = request.usage().input_tokens();
  entry.output_tokens = request.usage().output_tokens();
  entry.cost_estimated = request.cost().estimated() || request.usage().estimated();
  absl::StatusOr<AppendResult> appended = deps_.ledger->Append(entry);
  if (!appended.ok()) return appended.status();
  v1::RecordUsageResponse response;
  response.set_entry_id(appended->entry.entry_id);
  response.set_duplicate(appended->duplicate);
  response.set_balance_after_micro_usd(appended->entry.balance_after_micro_usd);
  return response;
}

absl::StatusOr<v1::GetBalanceResponse> SettlementEngine::GetBalance(
    const v1::GetBalanceRequest& request) {
  if (request.tenant_id().empty()) return InvalidArgument("tenant_id is required");
  absl::StatusOr<Balance> balance =
      deps_.ledger->GetBalance(request.tenant_id(), request.session_id());
  if (!balance.ok()) return balance.status();
  v1::GetBalanceResponse response;
  response.set_balance_micro_usd(balance->balance_micro_usd);
  response.set_total_topped_up_micro_usd(balance->total_topped_up_micro_usd);
  response.set_total_spent_micro_usd(balance->total_spent_micro_usd);
  return response;
}

absl::StatusOr<v1::ListUsageResponse> SettlementEngine::ListUsage(
    const v1::ListUsageRequest& request) {
  if (request.tenant_id().empty()) return InvalidArgument("tenant_id is required");
  int page_size = request.page_size() == 0 ? 100 : request.page_size();
  if (page_size < 1 || page_size > 1000) return InvalidArgument("page_size must be 1..1000");
  absl::StatusOr<LedgerPage> page = deps_.ledger->List(request.tenant_id(), request.session_id(),
                                                       request.page_token(), page_size);
  if (!page.ok()) return page.status();
  v1::ListUsageResponse response;
  for (const LedgerEntry& entry : page->entries) {
    v1::UsageEntry* out = response.add_entries();
    out->set_entry_id(entry.entry_id);
    out->set_request_id(entry.request_id);
    out->mutable_model()->set_provider(entry.provider);
    out->mutable_model()->set_model(entry.model);
    out->mutable_usage()->set_input_tokens(entry.input_tokens);
    out->mutable_usage()->set_output_tokens(entry.output_tokens);
    out->mutable_usage()->set_estimated(entry.cost_estimated);
    out->set_cost_micro_usd(entry.cost_micro_usd);
    out->set_balance_before_micro_usd(entry.balance_before_micro_usd);
    out->set_balance_after_micro_usd(entry.balance_after_micro_usd);
    out->set_created_unix_ms(entry.created_unix_ms);
    out->set_kind(entry.kind);
    out->set_session_id(entry.session_id);
    out->set_transaction(entry.transaction);
    out->set_platform_fee_micro_usd(entry.platform_fee_micro_usd);
  }
  response.set_next_page_token(page->next_page_token);
  return response;
}

}  // namespace p402::settlement
