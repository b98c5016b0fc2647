// File: services/settlement/core/payment_terms.cc
// ValidateTerms: the start-up sanity check of what P402 accepts and settles.
#include "services/settlement/core/payment_terms.h"

#include <algorithm>
#include <string>

#include "libs/common/status_util.h"

namespace p402::settlement {
namespace {

bool IsZero(const evm::Address& address) {
  return std::all_of(address.begin(), address.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

absl::Status ValidateTerms(const PaymentTerms& terms) {
  if (terms.chain_id == 0) return InvalidArgument("payment terms: chain_id must not be 0");
  if (IsZero(terms.asset))
    return InvalidArgument("payment terms: asset must not be the zero address");
  if (IsZero(terms.pay_to)) {
    return InvalidArgument("payment terms: pay_to must not be the zero address");
  }
  if (terms.asset_name.empty() || terms.asset_version.empty()) {
    return InvalidArgument(
        "payment terms: asset_name and asset_version (EIP-712 domain) are required");
  }
  // Amounts are micro-USD throughout; a token with other decimals would need a conversion the
  // ledger does not make.
  if (terms.asset_decimals != 6) {
    return InvalidArgument("payment terms: asset_decimals must be 6 (got " +
                           std::to_string(terms.asset_decimals) + ")");
  }
  if (terms.max_timeout_seconds <= 0) {
    return InvalidArgument("payment terms: max_timeout_seconds must be positive");
  }
  if (terms.valid_before_margin_seconds < 0) {
    return InvalidArgument("payment terms: valid_before_margin_seconds must not be negative");
  }
  if (terms.receipt_timeout.count() <= 0) {
    return InvalidArgument("payment terms: receipt_timeout must be positive");
  }
  if (terms.receipt_poll_interval.count() <= 0) {
    return InvalidArgument("payment terms: receipt_poll_interval must be positive");
  }
  return absl::OkStatus();
}

}  // namespace p402::settlement
