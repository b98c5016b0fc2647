// File: services/router/core/route_planner.h
// Decides which provider/model to call for a chat request, and in which order to fail over: the
// ordered candidate list with factor scores, disqualification reasons and worst-case costs
// (p402.v1.RoutingDecision). Pure and synchronous; the executor (server side) makes the calls and
// consults failover.h between attempts. Formulas: scoring.h and README.md in this folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/clock.h"
#include "p402/v1/router.pb.h"
#include "services/router/core/catalog.h"
#include "services/router/core/ports.h"

namespace p402::router {

// Output limit assumed when neither the request nor the catalog gives one.
inline constexpr int64_t kDefaultMaxOutputTokens = 4096;
// Default extra attempts when failover is enabled and max_retries is 0.
inline constexpr int kDefaultMaxRetries = 3;
inline constexpr int kMaxRetriesLimit = 10;
// Qualified candidates listed in the decision (disqualified ones are all listed, without factors).
inline constexpr int kMaxListedCandidates = 16;

struct RoutePlan {
  // Mode (effective: BALANCED when neither mode nor model was given, UNSPECIFIED for an explicit
  // model), reason, candidates best first (qualified, then disqualified), decision_us. No
  // attempts and no decision_id yet (the executor adds them).
  v1::RoutingDecision decision;
  // The qualified candidates in call order (pointers into the Catalog given to the planner; valid
  // while it lives). Never empty in a returned plan. decision.candidates lists the first
  // kMaxListedCandidates of them in the same order.
  std::vector<const ModelEntry*> attempt_order;
  // 1 + extra attempts allowed (failover disabled: 1).
  int max_attempts = 1;
  bool failover_enabled = true;
  v1::RateLimitStrategy rate_limit_strategy = v1::RATE_LIMIT_STRATEGY_SWITCH;
  // Prices of the model the client named (for CostBreakdown.direct_micro_usd); nullopt when the
  // request named none or it is not in the catalog.
  std::optional<Prices> direct_prices;
  int64_t estimated_input_tokens = 0;
};

// Worst-case cost of the request on `model`: estimated input tokens x input price + output bound
// x output price, each rounded up. Output bound = min(max_tokens, model limit) when the request
// sets max_tokens, else the model's output limit (kDefaultMaxOutputTokens when unknown). The input
// price is an upper bound because P402 never asks for cache writes.
MicroUsd WorstCaseCost(const ModelEntry& model, int64_t estimated_input_tokens,
                       std::optional<int64_t> max_tokens);
// The output bound used above.
int64_t OutputBound(const ModelEntry& model, std::optional<int64_t> max_tokens);

// Snake-case name of a disqualification ("missing_capability", ...), for messages and logs.
std::string_view DisqualificationName(v1::Disqualification d);

// Cheap to construct (holds references): build one per request with the current catalog
// snapshot. Thread-safe for concurrent Plan calls if the ports are.
class RoutePlanner {
 public:
  RoutePlanner(const Catalog& catalog, const HealthView& health, const Clock& clock)
      : catalog_(catalog), health_(health), clock_(clock) {}

  // Plans one request. `estimated_input_tokens` comes from the shared estimator (libs/openai);
  // negative counts as 0. Behaviour:
  //  - mode UNSPECIFIED + `model` set: the model is honoured: candidates are that model on every
  //    provider offering it (or the pinned one), then, when failover is enabled, the same
  //    canonical model on other providers (unless a provider is pinned), then fallback_providers
  //    in order (same canonical model, else same-tier models there), or -- when no
  //    fallback_providers are given -- same-tier models, each group ordered by balanced score;
  //  - otherwise every catalog model (only options.provider's when set) is scored in the mode
  //    (UNSPECIFIED = BALANCED) and the best wins; an unknown `model` is then ignored.
  // Failover defaults: enabled with 3 extra attempts when options has no `failover` message.
  // Errors: InvalidArgument (bad max_tier, negative max_cost or max_tokens <= 0); NotFound with
  // reason "model_not_found" (explicit model or options.provider unknown); FailedPrecondition
  // with reason "no_candidate" (every candidate disqualified; the message counts the reasons).
  absl::StatusOr<RoutePlan> Plan(const v1::ChatRequest& chat, const v1::RoutingOptions& options,
                                 const v1::RoutingConstraints& constraints,
                                 int64_t estimated_input_tokens) const;

  // Best candidate per mode (empty `modes` = cost, quality, speed, balanced) for payment quotes.
  // A mode with no candidate is left out. Errors: as Plan, only when every mode fails (the first
  // error is returned).
  absl::StatusOr<std::vector<v1::ModeQuote>> Quote(const v1::ChatRequest& chat,
                                                   const v1::RoutingOptions& options,
                                                   const v1::RoutingConstraints& constraints,
                                                   int64_t estimated_input_tokens,
                                                   const std::vector<v1::RoutingMode>& modes) const;

 private:
  const Catalog& catalog_;
  const HealthView& health_;
  const Clock& clock_;
};

}  // namespace p402::router
