#include "services/policy/core/max_tokens.h"

#include <algorithm>

namespace p402::policy {

std::optional<FittedRequest> FitMaxTokens(MicroUsd worst_case_micro_usd, int64_t max_output_tokens,
                                          MicroUsd output_per_mtok_micro_usd, MicroUsd limit,
                                          int64_t min_tokens) {
  if (max_output_tokens <= 0 || output_per_mtok_micro_usd <= 0 || worst_case_micro_usd < 0 ||
      limit < 0) {
    return std::nullopt;
  }
  const MicroUsd output_part = TokenCost(max_output_tokens, output_per_mtok_micro_usd);
  const MicroUsd input_part = std::max<MicroUsd>(0, worst_case_micro_usd - output_part);
  const MicroUsd output_allowance = limit - input_part;
  if (output_allowance <= 0) {
    return std::nullopt;
  }
  // TokenCost rounds up: ceil(n * price / 1e6) <= allowance  <=>  n * price <= allowance * 1e6
  // (allowance is an integer), so n = floor(allowance * 1e6 / price). 128-bit: no overflow.
  const __int128 scaled = static_cast<__int128>(output_allowance) * 1'000'000;
  const __int128 fit = scaled / output_per_mtok_micro_usd;
  int64_t n = fit >= max_output_tokens ? max_output_tokens - 1 : static_cast<int64_t>(fit);
  if (n < std::max<int64_t>(min_tokens, 1)) {
    return std::nullopt;
  }
  FittedRequest out{.max_output_tokens = n,
                    .worst_case_micro_usd = input_part + TokenCost(n, output_per_mtok_micro_usd)};
  if (out.worst_case_micro_usd > limit) {
    return std::nullopt;  // unreachable by the arithmetic above; kept as a fail-closed guard
  }
  return out;
}

}  // namespace p402::policy
