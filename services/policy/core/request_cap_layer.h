// File: services/policy/core/request_cap_layer.h
// Guard layer 5, "request_cap": no single request may cost more than the tenant's per-request cap
// (default $50). Always enforced and fail-closed. When the request allows it and the model's output
// price is known, an over-cap request gets a lower max_tokens that fits instead of a denial.
#pragma once

#include "services/policy/core/guard_config.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

class RequestCapLayer final : public GuardLayer {
 public:
  explicit RequestCapLayer(const GuardConfig& config)
      : min_reduced_max_tokens_(config.min_reduced_max_tokens) {}

  // GuardLayer
  std::string_view name() const override { return kLayerRequestCap; }
  FailureMode failure_mode() const override { return FailureMode::kFailClosed; }
  // Passes when ctx.worst_case <= ctx.limits.per_request_cap; passes with code
  // "max_tokens_reduced" after lowering ctx.max_output_tokens to fit; else denies with
  // GUARD_DECISION_DENY_REQUEST_CAP / "request_cap_exceeded". Never fails; thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;

 private:
  const int64_t min_reduced_max_tokens_;
};

}  // namespace p402::policy
