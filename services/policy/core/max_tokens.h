// File: services/policy/core/max_tokens.h
// max_tokens reduction: instead of denying a request whose worst case exceeds a limit (the
// per-request cap or the remaining budget), the guard may lower its output-token limit so that the
// worst case fits, when the caller allows it (AuthorizeRequest.allow_max_tokens_reduction).
#pragma once

#include <cstdint>
#include <optional>

#include "libs/common/money.h"

namespace p402::policy {

struct FittedRequest {
  int64_t max_output_tokens = 0;      // the new, lower limit
  MicroUsd worst_case_micro_usd = 0;  // worst case at that limit (<= the limit it was fit to)
};

// The largest output-token limit n with min_tokens <= n < max_output_tokens such that
//   input_part + TokenCost(n, output_price) <= limit,
// where input_part = worst_case - TokenCost(max_output_tokens, output_price) (the part of the
// worst case that does not depend on output tokens; floored at 0). nullopt when no such n exists,
// when the request sets no output limit (max_output_tokens <= 0), when the output price is not
// positive (lowering max_tokens would not lower the cost) or when the inputs are negative.
// Exact integer arithmetic; pure.
std::optional<FittedRequest> FitMaxTokens(MicroUsd worst_case_micro_usd, int64_t max_output_tokens,
                                          MicroUsd output_per_mtok_micro_usd, MicroUsd limit,
                                          int64_t min_tokens);

}  // namespace p402::policy
