// File: services/router/core/candidate_pool.h
// Internal to the route planner: which catalog models are considered for a request (the pool,
// with call-order groups for an explicit model), which of them are disqualified and why, and
// their factor scores. RoutePlanner (route_planner.h) orders the result and builds the decision.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libs/common/money.h"
#include "p402/v1/router.pb.h"
#include "services/router/core/catalog.h"
#include "services/router/core/ports.h"

namespace p402::router {

// Validated inputs of one Plan call.
struct PlanInputs {
  const Catalog& catalog;
  const v1::ChatRequest& chat;
  const v1::RoutingOptions& options;
  const v1::RoutingConstraints& constraints;
  int64_t input_tokens = 0;
  std::optional<int64_t> max_tokens;
  std::optional<Tier> max_tier;  // lower of options.max_tier and constraints.max_tier
  bool explicit_model = false;   // mode UNSPECIFIED and `model` set (and resolved)
  bool failover_enabled = true;
  ModelMatch match;            // the request's `model` resolved (may be empty)
  std::set<size_t> requested;  // match.models as a set
  // constraints.preferred_model resolved (empty when unset or unknown): full policy factor.
  std::set<size_t> preferred;
  // Input + output price per 1M tokens of constraints.max_model (the dearest of its matches);
  // nullopt when unset or unknown to the catalog (then the limit is ignored, see notes).
  std::optional<MicroUsd> max_model_price;
  // Remarks on the constraints for the decision's reason, e.g. an unknown max_model.
  std::vector<std::string> notes;
};

struct PoolEntry {
  size_t index = 0;  // into Catalog::models()
  const ModelEntry* model = nullptr;
  // Explicit path: 0 requested model, 1 same canonical elsewhere, 2+k fallback provider k,
  // 1000 same tier anywhere. Mode path: always 0.
  int group = 0;
  v1::Disqualification dq = v1::DISQUALIFICATION_UNSPECIFIED;
  MicroUsd worst = 0;
  ModelHealth health;
  bool rate_limited = false;
  double task = 0, cost = 0, latency = 0, health_factor = 0, policy = 0, quality = 0;
  double score = 0;  // 0 while disqualified
};

// Resolves constraints.preferred_model and constraints.max_model against the catalog into
// `preferred`, `max_model_price` and `notes` (an unknown model is ignored and noted).
void ResolvePolicyModels(PlanInputs& in);

// The models considered, in catalog order within each group (see RoutePlanner::Plan).
std::vector<PoolEntry> BuildPool(const PlanInputs& in);

// Sets worst-case cost, health and the first failing filter of every entry, in this order:
// unsupported protocol, no credentials, provider/model not allowed (allow/deny lists, allowed
// and denied models), tier, capability, context, max cost (options.max_cost and the price cap
// of constraints.max_model), circuit open. `now_unix_ms` decides whether a rate limit is still
// running.
void ApplyFilters(const PlanInputs& in, const HealthView& health, int64_t now_unix_ms,
                  std::vector<PoolEntry>& pool);

// Computes the factors and score of every qualified entry (formulas in scoring.h), normalising
// over the qualified entries. `mode` selects the weights (an explicit model uses BALANCED).
void ScorePool(const PlanInputs& in, v1::RoutingMode mode, std::vector<PoolEntry>& pool);

// Capabilities the request needs: options.required_capabilities plus "tools" (tools given),
// "vision" (an image_url part), "streaming" (stream = true). Sorted, unique.
std::vector<std::string> RequiredCapabilities(const v1::ChatRequest& chat,
                                              const v1::RoutingOptions& options);

}  // namespace p402::router
