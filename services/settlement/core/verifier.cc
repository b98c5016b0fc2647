// File: services/settlement/core/verifier.cc
// The 11 ordered stateless checks of an x402 "exact" EVM payment (see verifier.h).
#include "services/settlement/core/verifier.h"

#include <algorithm>
#include <array>
#include <string>

#include "libs/common/status_util.h"
#include "libs/crypto/secp256k1.h"
#include "libs/json/value.h"
#include "libs/x402/network.h"
#include "libs/x402/reasons.h"

namespace p402::settlement {
namespace {

constexpr std::string_view kScheme = "exact";

// secp256k1 n / 2, big-endian: s above it is the malleable twin of a low-s signature.
constexpr std::array<uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

VerifyResult Fail(VerifyResult result, std::string_view reason, std::string message) {
  result.valid = false;
  result.reason = std::string(reason);
  result.message = std::move(message);
  return result;
}

bool HighS(const crypto::Signature65& sig) {
  return std::lexicographical_compare(kHalfOrder.begin(), kHalfOrder.end(), sig.begin() + 32,
                                      sig.begin() + 64);
}

// Index of the offer the payload answers, -1 when none.
int MatchOffer(const x402::PaymentPayload& payload,
               const std::vector<v1::PaymentRequirement>& offers) {
  int first = -1;
  for (size_t i = 0; i < offers.size(); ++i) {
    if (!x402::RequirementMatches(payload, offers[i])) continue;
    if (payload.version != 1) return static_cast<int>(i);
    if (first < 0) first = static_cast<int>(i);
    absl::StatusOr<evm::Uint256> amount = evm::ParseUint256Decimal(offers[i].amount());
    if (amount.ok() && *amount == payload.authorization.value) return static_cast<int>(i);
  }
  return first;
}

// Reads value as unsigned seconds, saturating (a uint256 beyond u64 is "far future").
uint64_t Saturated(const evm::Uint256& value) { return Uint256ToU64(value).value_or(UINT64_MAX); }

}  // namespace

std::optional<uint64_t> Uint256ToU64(const evm::Uint256& value) {
  for (size_t i = 0; i < 24; ++i) {
    if (value[i] != 0) return std::nullopt;
  }
  uint64_t out = 0;
  for (size_t i = 24; i < 32; ++i) out = (out << 8) | value[i];
  return out;
}

VerifyResult CheckValidityWindow(const x402::PaymentPayload& payload,
                                 const v1::PaymentRequirement& offer,
                                 const VerifyOptions& options) {
  VerifyResult result;
  result.payer = evm::ToChecksum(payload.authorization.from);
  const uint64_t now = options.now_unix_seconds;
  const uint64_t valid_before = Saturated(payload.authorization.valid_before);
  const uint64_t valid_after = Saturated(payload.authorization.valid_after);
  const uint64_t margin =
      static_cast<uint64_t>(std::max<int64_t>(0, options.valid_before_margin_seconds));
  if (valid_before < now + margin) {
    return Fail(result, x402::kValidBefore,
                "authorization expires at " + payload.valid_before_text +
                    ", needs to be valid until at least " + std::to_string(now + margin));
  }
  if (options.max_valid_before_slack_seconds > 0) {
    const uint64_t limit =
        now + static_cast<uint64_t>(std::max<int64_t>(0, offer.max_timeout_seconds())) +
        static_cast<uint64_t>(options.max_valid_before_slack_seconds);
    if (valid_before > limit) {
      return Fail(result, x402::kValidBefore,
                  "authorization validBefore " + payload.valid_before_text +
                      " is too far in the future (at most " + std::to_string(limit) + ")");
    }
  }
  if (valid_after > now) {
    return Fail(result, x402::kValidAfter,
                "authorization is not valid before " + payload.valid_after_text + " (now " +
                    std::to_string(now) + ")");
  }
  result.valid = true;
  return result;
}

VerifyResult VerifyPayload(const x402::PaymentPayload& payload,
                           const std::vector<v1::PaymentRequirement>& offers,
                           const VerifyOptions& options) {
  VerifyResult result;
  result.payer = evm::ToChecksum(payload.authorization.from);

  // 1. Which offer does it answer?
  result.matched_index = MatchOffer(payload, offers);
  if (result.matched_index < 0) {
    return Fail(result, x402::kNoMatchingRequirements,
                "the payment does not match any offered payment requirement");
  }
  const v1::PaymentRequirement& offer = offers[result.matched_index];

  // 2. Scheme.
  if (payload.scheme != kScheme || offer.scheme() != kScheme) {
    return Fail(result, x402::kInvalidScheme,
                "unsupported scheme \"" + payload.scheme + "\" (only \"exact\")");
  }

  // 3. The EIP-712 domain of the token, from the offer's extra.
  absl::StatusOr<json::Value> extra = json::Value::Parse(offer.extra_json());
  std::optional<std::string_view> name;
  std::optional<std::string_view> version;
  if (extra.ok() && extra->is_object()) {
    name = extra->GetString("name");
    version = extra->GetString("version");
  }
  if (!name.has_value() || name->empty() || !version.has_value() || version->empty()) {
    return Fail(result, x402::kMissingEip712Domain,
                "the requirement's extra lacks the token's EIP-712 name and version");
  }

  // 4. Network.
  absl::StatusOr<uint64_t> chain_id = x402::ChainIdOfNetwork(offer.network());
  if (payload.network != offer.network() || !chain_id.ok() ||
      (options.expected_chain_id != 0 && *chain_id != options.expected_chain_id)) {
    return Fail(result, x402::kNetworkMismatch,
                "network \"" + payload.network + "\" is not the one settled here" +
                    (options.expected_chain_id != 0
                         ? " (chain " + std::to_string(options.expected_chain_id) + ")"
                         : std::string()));
  }

  // 5. Asset.
  absl::StatusOr<evm::Address> asset = evm::ParseAddress(offer.asset());
  bool asset_ok =
      asset.ok() && (!options.expected_asset.has_value() || *asset == *options.expected_asset);
  if (asset_ok && payload.accepted.has_value()) {
    absl::StatusOr<evm::Address> accepted = evm::ParseAddress(payload.accepted->asset());
    asset_ok = accepted.ok() && *accepted == *asset;
  }
  if (!asset_ok) {
    return Fail(result, x402::kAssetMismatch,
                "asset " + offer.asset() + " is not the token settled here");
  }

  // 6. Canonical signature, before recovering: a high-s twin or an odd v would otherwise be a
  // second byte string for the same authorization.
  const uint8_t v = payload.signature[64];
  if ((v != 27 && v != 28) || HighS(payload.signature)) {
    return Fail(result, x402::kNonCanonicalSignature,
                "signature is not canonical (v must be 27 or 28 and s at most n/2)");
  }

  // 7. Signer.
  evm::Eip712Domain domain{std::string(*name), std::string(*version), *chain_id, *asset};
  crypto::Digest32 digest = evm::TypedDataDigest(domain, payload.authorization);
  absl::StatusOr<crypto::Address20> signer = crypto::RecoverAddress(
      digest, std::span<const uint8_t>(payload.signature.data(), payload.signature.size()));
  if (!signer.ok()) {
    if (ReasonOf(signer.status()) == std::string(crypto::kReasonHighS)) {
      return Fail(result, x402::kNonCanonicalSignature, "signature has a high s value");
    }
    return Fail(result, x402::kSignature,
                "signature does not recover: " + MessageOf(signer.status()));
  }
  if (*signer != payload.authorization.from) {
    return Fail(result, x402::kSignature,
                "signature was made by " + evm::ToChecksum(*signer) + ", not by the payer " +
                    result.payer + " (wrong key or EIP-712 domain)");
  }

  // 8. Recipient.
  absl::StatusOr<evm::Address> pay_to = evm::ParseAddress(offer.pay_to());
  if (!pay_to.ok() || *pay_to != payload.authorization.to) {
    return Fail(result, x402::kRecipientMismatch,
                "authorization pays " + evm::ToChecksum(payload.authorization.to) + ", not " +
                    offer.pay_to());
  }

  // 9-10. Validity window.
  if (options.check_time) {
    VerifyResult window = CheckValidityWindow(payload, offer, options);
    if (!window.valid) return Fail(result, window.reason, window.message);
  }

  // 11. Exact amount.
  absl::StatusOr<evm::Uint256> amount = evm::ParseUint256Decimal(offer.amount());
  if (!amount.ok() || *amount != payload.authorization.value) {
    return Fail(result, payload.version == 1 ? x402::kValueMismatchV1 : x402::kValueMismatch,
                "authorization value " + payload.value_text + " is not the required amount " +
                    offer.amount());
  }

  result.valid = true;
  return result;
}

}  // namespace p402::settlement
