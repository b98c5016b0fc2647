#include "services/policy/core/request_cap_layer.h"

#include <string>

#include "services/policy/core/max_tokens.h"

namespace p402::policy {

absl::StatusOr<LayerOutcome> RequestCapLayer::Evaluate(GuardContext& ctx) {
  const MicroUsd cap = ctx.limits.per_request_cap_micro_usd;
  if (ctx.worst_case_micro_usd <= cap) {
    return LayerOutcome::Pass();
  }
  if (ctx.request->allow_max_tokens_reduction()) {
    std::optional<FittedRequest> fit =
        FitMaxTokens(ctx.worst_case_micro_usd, ctx.max_output_tokens,
                     ctx.request->output_per_mtok_micro_usd(), cap, min_reduced_max_tokens_);
    if (fit.has_value()) {
      ctx.max_output_tokens = fit->max_output_tokens;
      ctx.worst_case_micro_usd = fit->worst_case_micro_usd;
      ctx.max_tokens_reduced = true;
      return LayerOutcome::PassFlagged("max_tokens_reduced");
    }
  }
  return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_REQUEST_CAP, "request_cap_exceeded",
                            "the request's worst-case cost of $" +
                                FormatUsd(ctx.worst_case_micro_usd) +
                                " exceeds the per-request cap of $" + FormatUsd(cap));
}

}  // namespace p402::policy
