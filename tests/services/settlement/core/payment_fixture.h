// File: tests/services/settlement/core/payment_fixture.h
// Test payments for the settlement core and its users: P402-style terms on Base Sepolia (chain
// 84532, USDC "USDC"/"2"), offers, and EIP-3009 authorizations signed for real with the ganache
// deterministic key #1 (0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0), as x402 v1 or v2 payloads:
// both the parsed struct (filled directly, no parser involved) and the wire JSON. Helpers to
// tamper with a payment (high-s twin, odd v) keep the two in step. Header-only.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "libs/common/status_macros.h"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "libs/x402/codec.h"
#include "libs/x402/payload.h"
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/payment_terms.h"

namespace p402::settlement::testing {

// Ganache deterministic accounts (never real money): #1 is the buyer, #2 P402's wallet, #3 a
// third party; #0's address stands in for the facilitator (gas payer).
inline constexpr char kBuyerKeyHex[] =
    "6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";
inline constexpr char kBuyer[] = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";
inline constexpr char kOtherKeyHex[] =
    "6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c";               // ganache #2
inline constexpr char kPayTo[] = "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b";        // ganache #2
inline constexpr char kThirdParty[] = "0xE11BA2b4D45Eaed5996Cd0823791E0C93114882d";   // ganache #3
inline constexpr char kFacilitator[] = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1";  // ganache #0
inline constexpr char kSepoliaUsdc[] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
inline constexpr char kMainnetUsdc[] = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
inline constexpr char kResource[] = "https://api.p402.test/v1/chat/completions";

inline std::array<uint8_t, 32> KeyFromHex(std::string_view hex) {
  std::array<uint8_t, 32> key{};
  std::optional<std::string> bytes = crypto::HexDecode(hex);
  P402_CHECK(bytes.has_value() && bytes->size() == 32);
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

inline evm::Address Addr(std::string_view text) {
  absl::StatusOr<evm::Address> a = evm::ParseAddress(text);
  P402_CHECK(a.ok());
  return *a;
}

// P402 selling on Base Sepolia, paid to kPayTo.
inline PaymentTerms SepoliaTerms() {
  PaymentTerms terms;
  terms.chain_id = 84532;
  terms.asset = Addr(kSepoliaUsdc);
  terms.asset_name = "USDC";
  terms.asset_version = "2";
  terms.pay_to = Addr(kPayTo);
  terms.max_timeout_seconds = 300;
  terms.receipt_timeout = std::chrono::milliseconds(40);
  terms.receipt_poll_interval = std::chrono::milliseconds(1);
  return terms;
}

// A plain offer under `terms` in the shape of `version` (1: network "base-sepolia"; 2: CAIP-2).
inline v1::PaymentRequirement Offer(const PaymentTerms& terms, int version, int64_t amount,
                                    std::string_view resource = kResource) {
  v1::PaymentRequirement offer;
  offer.set_scheme("exact");
  offer.set_network(version == 1 ? (terms.chain_id == 8453 ? "base" : "base-sepolia")
                                 : "eip155:" + std::to_string(terms.chain_id));
  offer.set_amount(std::to_string(amount));
  offer.set_asset(evm::ToChecksum(terms.asset));
  offer.set_pay_to(evm::ToChecksum(terms.pay_to));
  offer.set_max_timeout_seconds(terms.max_timeout_seconds);
  offer.set_resource(std::string(resource));
  offer.set_mime_type("application/json");
  offer.set_description("test offer");
  json::Value extra = json::Value::EmptyObject();
  extra.Set("name", terms.asset_name);
  extra.Set("version", terms.asset_version);
  offer.set_extra_json(extra.Serialize());
  return offer;
}

struct SignOptions {
  uint64_t now_unix_seconds = 0;  // validBefore = now + 60 unless valid_before is set
  std::optional<uint64_t> valid_before;
  uint64_t valid_after = 0;
  std::optional<std::string> value;  // default: the offer's amount
  uint64_t nonce = 1;                // big-endian into the last 8 bytes of the 32-byte nonce
  std::string key_hex = kBuyerKeyHex;
  std::optional<evm::Address> to;    // default: the offer's payTo
  std::optional<evm::Address> from;  // default: the key's address (a lie when set)
  // Domain overrides (a wrong name/chain gives a well-formed signature that never recovers).
  std::optional<std::string> domain_name;
  std::optional<uint64_t> domain_chain_id;
};

struct SignedPayment {
  x402::PaymentPayload payload;  // filled directly
  std::string json;              // the wire JSON of `payload`
};

inline std::string SignatureHex(const crypto::Signature65& sig) {
  return "0x" + crypto::HexEncode(std::span<const uint8_t>(sig.data(), sig.size()));
}

// The wire JSON (X402.md 1.4 key order) of `payload`: v1 top-level scheme/network, v2
// `accepted` (payload.accepted_json) and `resource`.
inline std::string WireJson(const x402::PaymentPayload& p) {
  json::Value auth = json::Value::EmptyObject();
  auth.Set("from", evm::ToChecksum(p.authorization.from));
  auth.Set("to", evm::ToChecksum(p.authorization.to));
  auth.Set("value", p.value_text);
  auth.Set("validAfter", p.valid_after_text);
  auth.Set("validBefore", p.valid_before_text);
  auth.Set("nonce", "0x" + crypto::HexEncode(std::span<const uint8_t>(
                               p.authorization.nonce.data(), p.authorization.nonce.size())));
  json::Value root = json::Value::EmptyObject();
  root.Set("x402Version", p.version);
  if (p.version == 1) {
    root.Set("scheme", p.scheme);
    root.Set("network", p.network);
    json::Value& payload = root.Set("payload", json::Value::EmptyObject());
    payload.Set("signature", SignatureHex(p.signature));
    payload.Set("authorization", auth);
  } else {
    json::Value& payload = root.Set("payload", json::Value::EmptyObject());
    payload.Set("authorization", auth);
    payload.Set("signature", SignatureHex(p.signature));
    json::Value& resource = root.Set("resource", json::Value::EmptyObject());
    resource.Set("url", p.resource_url);
    resource.Set("description", "");
    resource.Set("mimeType", "application/json");
    root.Set("accepted", p.accepted_json);
  }
  return root.Serialize();
}

// Refreshes `json` after the test changed `payload`.
inline void Rewire(SignedPayment& payment) {
  payment.json = WireJson(payment.payload);
  payment.payload.json = payment.json;
}

// The X-PAYMENT (v1) / PAYMENT-SIGNATURE (v2) header value: padded standard base64 of the JSON.
inline std::string HeaderValue(const SignedPayment& payment) {
  return crypto::Base64Encode(payment.json);
}

// Signs an authorization answering `offer` as an x402 `version` payload.
inline SignedPayment SignPayment(const v1::PaymentRequirement& offer, int version,
                                 const SignOptions& options) {
  const std::array<uint8_t, 32> key = KeyFromHex(options.key_hex);
  absl::StatusOr<evm::Address> signer = crypto::AddressOf(key);
  P402_CHECK(signer.ok());
  absl::StatusOr<json::Value> extra = json::Value::Parse(offer.extra_json());
  if (!extra.ok()) extra = json::Value::EmptyObject();  // tests of a missing domain
  // Test offers name "base", "base-sepolia" or "eip155:<id>".
  uint64_t chain_id = 0;
  if (offer.network() == "base") {
    chain_id = 8453;
  } else if (offer.network() == "base-sepolia") {
    chain_id = 84532;
  } else {
    P402_CHECK(offer.network().rfind("eip155:", 0) == 0);
    chain_id = std::stoull(offer.network().substr(7));
  }

  SignedPayment out;
  x402::PaymentPayload& p = out.payload;
  p.version = version;
  p.scheme = offer.scheme();
  p.network = offer.network();
  if (version == 2) {
    p.accepted = offer;
    p.accepted_json = x402::RequirementToJson(offer, 2);
    p.resource_url = offer.resource();
  }
  evm::TransferAuthorization& auth = p.authorization;
  auth.from = options.from.value_or(*signer);
  auth.to = options.to.value_or(Addr(offer.pay_to()));
  p.value_text = options.value.value_or(offer.amount());
  absl::StatusOr<evm::Uint256> value = evm::ParseUint256Decimal(p.value_text);
  P402_CHECK(value.ok());
  auth.value = *value;
  const uint64_t valid_before = options.valid_before.value_or(options.now_unix_seconds + 60);
  p.valid_after_text = std::to_string(options.valid_after);
  p.valid_before_text = std::to_string(valid_before);
  auth.valid_after = evm::Uint256FromU64(options.valid_after);
  auth.valid_before = evm::Uint256FromU64(valid_before);
  for (int i = 0; i < 8; ++i) auth.nonce[31 - i] = static_cast<uint8_t>(options.nonce >> (8 * i));

  evm::Eip712Domain domain;
  domain.name = options.domain_name.value_or(std::string(extra->GetString("name").value_or("")));
  domain.version = std::string(extra->GetString("version").value_or(""));
  domain.chain_id = options.domain_chain_id.value_or(chain_id);
  domain.verifying_contract = Addr(offer.asset());
  absl::StatusOr<crypto::Signature65> sig =
      crypto::SignDigest(evm::TypedDataDigest(domain, auth), key);
  P402_CHECK(sig.ok());
  p.signature = *sig;
  Rewire(out);
  return out;
}

// secp256k1 order n, big-endian.
inline constexpr std::array<uint8_t, 32> kCurveOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

// The malleable twin (r, n - s, v ^ 1): the same authorization, a different byte string, which
// ecrecover still accepts.
inline void MakeHighSTwin(SignedPayment& payment) {
  crypto::Signature65& sig = payment.payload.signature;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = static_cast<int>(kCurveOrder[i]) - sig[32 + i] - borrow;
    borrow = d < 0 ? 1 : 0;
    sig[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  sig[64] = sig[64] == 27 ? 28 : 27;
  Rewire(payment);
}

}  // namespace p402::settlement::testing
