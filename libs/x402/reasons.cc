#include "libs/x402/reasons.h"

#include <array>
#include <utility>

namespace p402::x402 {
namespace {

// Legacy spellings (x402@1.2.0 facilitator, the v1/v2 spec lists) -> the @x402/evm 2.27 names
// P402 emits (X402.md 1.7). Small and fixed, so a linear scan is the simplest correct lookup.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kAliases = {{
    {"insufficient_funds", kInsufficientBalance},
    {"invalid_exact_evm_payload_signature", kSignature},
    {"invalid_exact_evm_payload_recipient_mismatch", kRecipientMismatch},
    {"invalid_network", kNetworkMismatch},
    {"unsupported_scheme", kInvalidScheme},
    {"invalid_scheme", kInvalidScheme},
    // The legacy code is only ever produced for v1 payloads, so it maps to our v1 spelling.
    {"invalid_exact_evm_payload_authorization_value", kValueMismatchV1},
    {"invalid_transaction_state", kTransactionFailed},
}};

}  // namespace

std::string_view ReasonAlias(std::string_view code) {
  for (const auto& [legacy, current] : kAliases) {
    if (code == legacy) return current;
  }
  return code;
}

}  // namespace p402::x402
