// File: services/policy/core/policy_rules.h
// The tenant's policies (p402.v1.TenantPolicy) as pure functions: validation of a policy written through
// the management API, and evaluation of the enabled ones for one request. Evaluation decides only
// what can be decided from the policies and the request alone (provider/model/tier/task rules, the
// kill switch's total-spend condition); the spend windows and caps it returns are enforced by the
// guard layers (daily_limit, request_cap), and the error-rate condition by KillSwitchMonitor
// (kill_switch.h), since both need shared counters. ValidatePolicy is in policy_rules.cc,
// EvaluatePolicies in policy_evaluation.cc.
//
// Combination rules: every enabled policy applies; allow lists intersect, deny lists unite, the
// lowest tier cap and the lowest per-request cap win, every spend window is enforced. Where one
// answer must be chosen (a task's preferred model and max model), the highest-priority policy
// wins, then the oldest. Disabled policies are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/common/money.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// Bounds on one policy (validation).
inline constexpr int kMaxPolicyListEntries = 64;   // allow/deny/model lists, task rules
inline constexpr int32_t kMaxPolicyPriority = 1'000'000;
inline constexpr int kMaxPoliciesPerTenant = 100;

// Checks a policy written by a caller (id, tenant_id and timestamps are not checked: the service
// assigns them). InvalidArgument naming the field in the message, e.g. "policy.name is
// required", "spending.per_hour_micro_usd must be >= 0", "spending.action is required",
// "provider.allow[2] is not a valid provider id", "model.max_tier must be budget, mid or premium",
// "task.rules[0].task is required", "kill_switch.error_rate_bps must be <= 10000",
// "rule is required" (no oneof member set), "a spending policy needs at least one limit".
absl::Status ValidatePolicy(const v1::TenantPolicy& policy);

// What the request's facts are, as far as policies care.
struct PolicyRequestFacts {
  std::string task;            // p402.task; empty = none
  std::string model_provider;  // AuthorizeRequest.model; empty when routed by mode
  std::string model_id;
  MicroUsd tenant_spent_micro_usd = 0;  // lifetime committed spend (kill switch total_spend)
};

struct PolicyVerdict {
  // Set when a policy refuses the request outright (DENY_POLICY) with code "provider_denied"
  // (the explicitly requested model's provider is denied or not allowed), "model_denied" (the
  // requested model is denied or not allowed for the task) or "kill_switch_tripped" (total spend
  // reached; the guard then pauses the tenant). Tier caps are not decided here: the policy
  // service has no catalog, so the router filters by tier (routing.max_tier).
  bool denied = false;
  std::string code;
  std::string message;
  // Id of the policy that denied (for logs), or the kill switch that tripped.
  std::string policy_id;
  bool kill_switch_tripped = false;

  // Routing restrictions for the router (AuthorizeResponse.routing).
  v1::PolicyRouting routing;
  // Lowest per-request cap among spending policies; nullopt = none.
  std::optional<MicroUsd> per_request_cap_micro_usd;
  // Every window limit of every enabled spending policy.
  std::vector<SpendWindowLimit> spend_windows;
};

// Evaluates `policies` (any order; disabled ones skipped) for one request. Pure, thread-safe.
PolicyVerdict EvaluatePolicies(const std::vector<v1::TenantPolicy>& policies,
                               const PolicyRequestFacts& facts);

}  // namespace p402::policy
