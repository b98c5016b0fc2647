// File: libs/x402/reasons.h
// x402 reason codes as P402 emits them: the @x402/evm 2.27 spellings (identical to the Go SDK's),
// plus the generic codes of the spec. Facilitator clients do not validate these strings; sellers
// forward them to buyers. ReasonAlias maps the legacy x402@1.2.0 / spec spellings to these when
// P402 reads a code from elsewhere.
#pragma once

#include <string_view>

namespace p402::x402 {

// Malformed payload: not base64, not JSON, a field missing or of the wrong type.
inline constexpr std::string_view kInvalidPayload = "invalid_payload";
inline constexpr std::string_view kInvalidPaymentRequirements = "invalid_payment_requirements";
inline constexpr std::string_view kInvalidX402Version = "invalid_x402_version";
inline constexpr std::string_view kInvalidScheme = "invalid_exact_evm_scheme";
inline constexpr std::string_view kNetworkMismatch = "invalid_exact_evm_network_mismatch";
inline constexpr std::string_view kMissingEip712Domain = "invalid_exact_evm_missing_eip712_domain";
// No offered requirement matches the payload (v2 `accepted` differs from every offer; P402 also
// uses it when the asset differs).
inline constexpr std::string_view kNoMatchingRequirements = "no_matching_payment_requirements";
inline constexpr std::string_view kAssetMismatch = "invalid_exact_evm_asset_mismatch";
inline constexpr std::string_view kSignature = "invalid_exact_evm_signature";
// s > n/2 or v not in {27, 28} (PRs x402#2454 / #2728).
inline constexpr std::string_view kNonCanonicalSignature =
    "invalid_exact_evm_non_canonical_signature";
inline constexpr std::string_view kRecipientMismatch = "invalid_exact_evm_recipient_mismatch";
inline constexpr std::string_view kValidBefore =
    "invalid_exact_evm_payload_authorization_valid_before";
inline constexpr std::string_view kValidAfter =
    "invalid_exact_evm_payload_authorization_valid_after";
// v2 payloads; v1 payloads get kValueMismatchV1 (the @x402/evm v1 path spelling).
inline constexpr std::string_view kValueMismatch =
    "invalid_exact_evm_payload_authorization_value_mismatch";
inline constexpr std::string_view kValueMismatchV1 = "invalid_exact_evm_authorization_value";
inline constexpr std::string_view kInsufficientBalance = "invalid_exact_evm_insufficient_balance";
inline constexpr std::string_view kNonceAlreadyUsed = "invalid_exact_evm_nonce_already_used";
inline constexpr std::string_view kSimulationFailed =
    "invalid_exact_evm_transaction_simulation_failed";
inline constexpr std::string_view kTransactionFailed = "invalid_exact_evm_transaction_failed";
inline constexpr std::string_view kTransferEventMismatch =
    "invalid_exact_evm_transfer_event_mismatch";
// Broadcast, receipt not seen yet: non-terminal, the transaction hash is returned.
inline constexpr std::string_view kSettlementPending = "settlement_pending";
inline constexpr std::string_view kUnexpectedVerifyError = "unexpected_verify_error";
inline constexpr std::string_view kUnexpectedSettleError = "unexpected_settle_error";

// The P402 spelling of a reason code read from a legacy source ("insufficient_funds" ->
// kInsufficientBalance, "invalid_exact_evm_payload_signature" -> kSignature, ...); unknown codes
// are returned unchanged.
std::string_view ReasonAlias(std::string_view code);

}  // namespace p402::x402
