// File: services/settlement/core/engine_internal.h
// Helpers shared by settlement_engine.cc and settlement_engine_settle.cc (not a public API):
// time, payment keys, ledger idempotency keys, the claim protocol over PaymentStore, shared
// answers, and the in-process lock of one payment's settlement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "libs/x402/payload.h"
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/payment_terms.h"
#include "services/settlement/core/ports.h"
#include "services/settlement/core/records.h"
#include "services/settlement/core/settlement_engine.h"
#include "services/settlement/core/verifier.h"

namespace p402::settlement::internal {

inline int64_t NowMillis(const Clock& clock) { return UnixMillis(clock.Now()); }

// Verification options for P402's terms at the clock's time.
VerifyOptions OptionsFor(const PaymentTerms& terms, const Clock& clock);

// Start of the clock's calendar month (UTC), Unix ms: the fee tier's volume window.
int64_t MonthStartMillis(int64_t now_unix_ms);

// "0x" + 64 lowercase hex.
std::string NonceHex(const evm::Bytes32& nonce);

// The authorization's key under P402's terms (the verifier has checked that the asset is
// terms.asset and the chain terms.chain_id).
PaymentKey KeyOf(const PaymentTerms& terms, const x402::PaymentPayload& payload);

// "<chain>:<asset>:<payer>:<nonce>", the stem of every idempotency key of the payment.
std::string KeyString(const PaymentKey& key);

// A fresh kClaimed record of `payload` answering `offer`, owned by `owner`.
PaymentRecord NewRecord(const PaymentKey& key, std::string_view owner,
                        const v1::PaymentRequirement& offer, const x402::PaymentPayload& payload,
                        int64_t now_ms);

// Claims `record` or returns the existing one. A kFailed record without a transaction (nothing
// was broadcast, the authorization is unused) is dropped and claimed again.
absl::StatusOr<std::optional<PaymentRecord>> ClaimOrExisting(PaymentStore& store,
                                                             const PaymentRecord& record);

// The payload parsed, or the x402 reason (invalid_payload / invalid_x402_version) and message.
struct ParsedPayload {
  std::optional<x402::PaymentPayload> payload;
  std::string reason;
  std::string message;
};
ParsedPayload Parse(std::string_view payload_json);

// The decimal string as int64 micro-USD; nullopt when not a number or beyond int64.
std::optional<int64_t> AmountMicros(std::string_view decimal);

// `response` marked failed with `reason` and `message`.
v1::SettlePaymentResponse Failure(v1::SettlePaymentResponse response, std::string_view reason,
                                  std::string message);
// The answer a stored record stands for when another call got there first (kSettled: the first
// result, duplicate; kSubmitted: settlement_pending; kFailed: its failure; kClaimed: used).
v1::SettlePaymentResponse AnswerFromRecord(v1::SettlePaymentResponse response,
                                           const PaymentRecord& record);

}  // namespace p402::settlement::internal

namespace p402::settlement {

class SettlementEngine::KeyLock {
 public:
  KeyLock(SettlementEngine& engine, std::string key) : engine_(engine), key_(std::move(key)) {
    absl::MutexLock lock(&engine_.mu_);
    while (engine_.in_flight_.count(key_) != 0) engine_.in_flight_changed_.Wait(&engine_.mu_);
    engine_.in_flight_.insert(key_);
  }
  ~KeyLock() {
    absl::MutexLock lock(&engine_.mu_);
    engine_.in_flight_.erase(key_);
    engine_.in_flight_changed_.SignalAll();
  }
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;

 private:
  SettlementEngine& engine_;
  std::string key_;
};

}  // namespace p402::settlement
