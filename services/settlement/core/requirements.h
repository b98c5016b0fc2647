// File: services/settlement/core/requirements.h
// Builds P402's own x402 offers for a request (GetPaymentRequirements): one PaymentRequirement per
// routing mode, amount = the mode's worst-case cost + the platform fee on it, in the shape of the
// client's x402 version (v1 network name / v2 CAIP-2), with extra = {name, version} (EIP-712
// domain of the asset) + {p402_mode, p402_model, p402_model_cost_micro_usd, p402_fee_micro_usd}.
// Deterministic: the same inputs give byte-identical offers, which is how a paid retry is matched
// to the offer it answers. Pure, thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/fee_schedule.h"
#include "services/settlement/core/payment_terms.h"

namespace p402::settlement {

// Lowercase mode name: "cost", "quality", "speed", "balanced", "custom"; "" for UNSPECIFIED.
std::string_view ModeName(v1::RoutingMode mode);

// InvalidArgument: no mode_costs, a negative cost, an unknown mode, version not 0/1/2, a v1
// request on a chain without a v1 network name, an empty or non-URL resource.
// `monthly_volume` selects the fee tier. Amounts below 1 atomic unit are raised to 1 (a free
// option would be a 0-value authorization).
absl::StatusOr<v1::GetPaymentRequirementsResponse> BuildRequirements(
    const PaymentTerms& terms, const FeeSchedule& fees, MicroUsd monthly_volume,
    const v1::GetPaymentRequirementsRequest& request);

// The offer for a plain amount (a top-up of `amount` micro-USD; no fee, no mode).
absl::StatusOr<v1::PaymentRequirement> BuildAmountRequirement(const PaymentTerms& terms,
                                                              MicroUsd amount, int version,
                                                              std::string_view resource,
                                                              std::string_view description);

}  // namespace p402::settlement
