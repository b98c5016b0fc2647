#include "services/router/core/route_planner.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/router/core/candidate_pool.h"
#include "services/router/core/scoring.h"

namespace p402::router {
namespace {

std::string_view ModeName(v1::RoutingMode mode) {
  switch (mode) {
    case v1::ROUTING_MODE_COST:
      return "cost";
    case v1::ROUTING_MODE_QUALITY:
      return "quality";
    case v1::ROUTING_MODE_SPEED:
      return "speed";
    case v1::ROUTING_MODE_CUSTOM:
      return "custom";
    default:
      return "balanced";
  }
}

// Lower of two optional tier limits; error on an unknown name.
absl::StatusOr<std::optional<Tier>> MaxTier(std::string_view a, std::string_view b) {
  std::optional<Tier> out;
  for (std::string_view name : {a, b}) {
    if (name.empty()) continue;
    std::optional<Tier> t = ParseTier(name);
    if (!t) {
      return InvalidArgument("max_tier must be budget, mid or premium, got \"" + std::string(name) +
                             "\"");
    }
    out = out ? std::min(*out, *t) : *t;
  }
  return out;
}

bool IsRequestSpecific(v1::Disqualification d) {
  return d != v1::DISQUALIFICATION_NO_CREDENTIALS && d != v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL;
}

// Qualified: by group, then score, then cheaper, then better quality, then catalog order.
// Disqualified: request-specific reasons first (they explain this request), then by group.
void SortCandidates(std::vector<const PoolEntry*>& qualified,
                    std::vector<const PoolEntry*>& disqualified) {
  std::sort(qualified.begin(), qualified.end(), [](const PoolEntry* a, const PoolEntry* b) {
    if (a->group != b->group) return a->group < b->group;
    if (a->score != b->score) return a->score > b->score;
    if (a->worst != b->worst) return a->worst < b->worst;
    if (a->model->quality != b->model->quality) return a->model->quality > b->model->quality;
    return a->index < b->index;
  });
  std::stable_sort(disqualified.begin(), disqualified.end(),
                   [](const PoolEntry* a, const PoolEntry* b) {
                     bool sa = IsRequestSpecific(a->dq), sb = IsRequestSpecific(b->dq);
                     if (sa != sb) return sa;
                     return a->group < b->group;
                   });
}

absl::Status NoCandidate(size_t considered, const std::vector<const PoolEntry*>& disqualified) {
  std::map<std::string_view, int> counts;
  for (const PoolEntry* e : disqualified) ++counts[DisqualificationName(e->dq)];
  std::string msg =
      "no candidate satisfies the request (" + std::to_string(considered) + " considered:";
  for (const auto& [name, n] : counts) msg += " " + std::to_string(n) + " " + std::string(name);
  msg += ")";
  for (size_t i = 0; i < disqualified.size() && i < 5; ++i) {
    msg += std::string(i == 0 ? "; e.g. " : ", ") + disqualified[i]->model->provider + "/" +
           disqualified[i]->model->id + ": " +
           std::string(DisqualificationName(disqualified[i]->dq));
  }
  return WithReason(FailedPrecondition(msg), "no_candidate");
}

void AddCandidate(const PoolEntry& e, bool with_factors, v1::RoutingDecision& d) {
  v1::Candidate* c = d.add_candidates();
  c->mutable_model()->set_provider(e.model->provider);
  c->mutable_model()->set_model(e.model->id);
  c->set_disqualification(e.dq);
  c->set_worst_case_micro_usd(e.worst);
  if (!with_factors) return;
  c->set_score(e.score);
  auto& f = *c->mutable_factors();
  f["task"] = e.task;
  f["cost"] = e.cost;
  f["latency"] = e.latency;
  f["health"] = e.health_factor;
  f["policy"] = e.policy;
  f["quality"] = e.quality;
}

// Policy remarks: the winner is policy's preferred model; a max_model or preferred model that
// the catalog does not know (so it was ignored).
void AppendNotes(const PlanInputs& in, const PoolEntry& winner, std::string& reason) {
  if (in.preferred.count(winner.index) > 0) {
    reason += " (policy-preferred model)";
  }
  for (const std::string& note : in.notes) {
    reason += " (" + note + ")";
  }
}

// Mode, candidates (capped lists), chosen and reason; no attempts and no decision_id.
void FillDecision(const PlanInputs& in, v1::RoutingMode mode,
                  const std::vector<const PoolEntry*>& qualified,
                  const std::vector<const PoolEntry*>& disqualified, v1::RoutingDecision& d) {
  d.set_mode(mode);
  for (size_t i = 0; i < qualified.size() && i < size_t{kMaxListedCandidates}; ++i) {
    AddCandidate(*qualified[i], true, d);
  }
  for (size_t i = 0; i < disqualified.size() && i < size_t{kMaxListedCandidates}; ++i) {
    AddCandidate(*disqualified[i], false, d);
  }
  const PoolEntry& winner = *qualified.front();
  d.mutable_chosen()->set_provider(winner.model->provider);
  d.mutable_chosen()->set_model(winner.model->id);
  const std::string& model = in.chat.model();
  bool requested = in.requested.count(winner.index) > 0;
  std::string reason;
  if (in.explicit_model) {
    reason = requested ? "explicit model \"" + model + "\""
                       : "explicit model \"" + model + "\" unavailable; fallback";
    AppendNotes(in, winner, reason);
    d.set_reason(reason);
    return;
  }
  reason = "best score in " + std::string(ModeName(mode)) + " mode";
  if (!model.empty() && in.match.models.empty()) {
    reason += " (requested model \"" + model + "\" is not in the catalog)";
  } else if (!model.empty() && !requested) {
    reason += " (overrides requested model \"" + model + "\")";
  }
  if (!in.options.task().empty() && !IsKnownTask(in.options.task())) {
    reason += " (unknown task \"" + in.options.task() + "\" ignored)";
  }
  AppendNotes(in, winner, reason);
  d.set_reason(reason);
}

}  // namespace

int64_t OutputBound(const ModelEntry& model, std::optional<int64_t> max_tokens) {
  if (max_tokens) {
    return model.max_output > 0 ? std::min(*max_tokens, model.max_output) : *max_tokens;
  }
  return model.max_output > 0 ? model.max_output : kDefaultMaxOutputTokens;
}

MicroUsd WorstCaseCost(const ModelEntry& model, int64_t estimated_input_tokens,
                       std::optional<int64_t> max_tokens) {
  MicroUsd in = TokenCost(std::max<int64_t>(estimated_input_tokens, 0), model.prices.input);
  MicroUsd out = TokenCost(OutputBound(model, max_tokens), model.prices.output);
  std::optional<MicroUsd> sum = AddMoney(in, out);
  return sum ? *sum : std::numeric_limits<MicroUsd>::max();
}

std::string_view DisqualificationName(v1::Disqualification d) {
  switch (d) {
    case v1::DISQUALIFICATION_MISSING_CAPABILITY:
      return "missing_capability";
    case v1::DISQUALIFICATION_OVER_MAX_COST:
      return "over_max_cost";
    case v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED:
      return "provider_not_allowed";
    case v1::DISQUALIFICATION_TIER_NOT_ALLOWED:
      return "tier_not_allowed";
    case v1::DISQUALIFICATION_NO_CREDENTIALS:
      return "no_credentials";
    case v1::DISQUALIFICATION_CIRCUIT_OPEN:
      return "circuit_open";
    case v1::DISQUALIFICATION_CONTEXT_TOO_SMALL:
      return "context_too_small";
    case v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL:
      return "unsupported_protocol";
    default:
      return "none";
  }
}

absl::StatusOr<RoutePlan> RoutePlanner::Plan(const v1::ChatRequest& chat,
                                             const v1::RoutingOptions& options,
                                             const v1::RoutingConstraints& constraints,
                                             int64_t estimated_input_tokens) const {
  auto started = clock_.MonotonicNow();
  PlanInputs in{catalog_, chat, options, constraints};
  P402_ASSIGN_OR_RETURN(in.max_tier, MaxTier(options.max_tier(), constraints.max_tier()));
  if (options.max_cost_micro_usd() < 0) {
    return InvalidArgument("max_cost must not be negative");
  }
  if (chat.has_max_tokens()) {
    if (chat.max_tokens() <= 0) return InvalidArgument("max_tokens must be positive");
    in.max_tokens = chat.max_tokens();
  }
  in.input_tokens = std::max<int64_t>(estimated_input_tokens, 0);
  if (!options.provider().empty() && catalog_.FindProvider(options.provider()) == nullptr) {
    return WithReason(NotFound("unknown provider \"" + options.provider() + "\""),
                      "model_not_found");
  }
  in.match = catalog_.Resolve(chat.model(), options.provider());
  in.requested.insert(in.match.models.begin(), in.match.models.end());
  in.explicit_model = options.mode() == v1::ROUTING_MODE_UNSPECIFIED && !chat.model().empty();
  if (in.explicit_model && in.match.models.empty()) {
    std::string msg = "model \"" + chat.model() + "\" is not in the catalog";
    if (!options.provider().empty()) msg += " of provider \"" + options.provider() + "\"";
    return WithReason(NotFound(msg), "model_not_found");
  }
  in.failover_enabled = !options.has_failover() || options.failover().enabled();
  ResolvePolicyModels(in);

  std::vector<PoolEntry> pool = BuildPool(in);
  ApplyFilters(in, health_, UnixMillis(clock_.Now()), pool);
  v1::RoutingMode mode = in.explicit_model ? v1::ROUTING_MODE_UNSPECIFIED
                         : options.mode() == v1::ROUTING_MODE_UNSPECIFIED
                             ? v1::ROUTING_MODE_BALANCED
                             : options.mode();
  ScorePool(in, in.explicit_model ? v1::ROUTING_MODE_BALANCED : mode, pool);

  std::vector<const PoolEntry*> qualified, disqualified;
  for (const PoolEntry& e : pool) {
    (e.dq == v1::DISQUALIFICATION_UNSPECIFIED ? qualified : disqualified).push_back(&e);
  }
  SortCandidates(qualified, disqualified);
  if (qualified.empty()) return NoCandidate(pool.size(), disqualified);

  RoutePlan plan;
  plan.estimated_input_tokens = in.input_tokens;
  plan.failover_enabled = in.failover_enabled;
  int retries = options.has_failover() && options.failover().max_retries() > 0
                    ? std::min(options.failover().max_retries(), kMaxRetriesLimit)
                    : kDefaultMaxRetries;
  plan.max_attempts = plan.failover_enabled ? 1 + retries : 1;
  plan.rate_limit_strategy = options.rate_limit_strategy() == v1::RATE_LIMIT_STRATEGY_UNSPECIFIED
                                 ? v1::RATE_LIMIT_STRATEGY_SWITCH
                                 : options.rate_limit_strategy();
  if (!in.match.models.empty()) {
    plan.direct_prices = catalog_.models()[in.match.models.front()].prices;
  }
  for (const PoolEntry* e : qualified) plan.attempt_order.push_back(e->model);
  FillDecision(in, mode, qualified, disqualified, plan.decision);
  plan.decision.set_decision_us(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.MonotonicNow() - started)
          .count());
  return plan;
}

absl::StatusOr<std::vector<v1::ModeQuote>> RoutePlanner::Quote(
    const v1::ChatRequest& chat, const v1::RoutingOptions& options,
    const v1::RoutingConstraints& constraints, int64_t estimated_input_tokens,
    const std::vector<v1::RoutingMode>& modes) const {
  std::vector<v1::RoutingMode> wanted = modes;
  if (wanted.empty()) {
    wanted = {v1::ROUTING_MODE_COST, v1::ROUTING_MODE_QUALITY, v1::ROUTING_MODE_SPEED,
              v1::ROUTING_MODE_BALANCED};
  }
  std::vector<v1::ModeQuote> quotes;
  absl::Status first_error;
  for (v1::RoutingMode mode : wanted) {
    v1::RoutingOptions opts = options;
    opts.set_mode(mode);
    absl::StatusOr<RoutePlan> plan = Plan(chat, opts, constraints, estimated_input_tokens);
    if (!plan.ok()) {
      if (first_error.ok()) first_error = plan.status();
      continue;
    }
    const ModelEntry& m = *plan->attempt_order.front();
    v1::ModeQuote& q = quotes.emplace_back();
    q.set_mode(mode);
    q.mutable_model()->set_provider(m.provider);
    q.mutable_model()->set_model(m.id);
    std::optional<int64_t> max_tokens;
    if (chat.has_max_tokens()) max_tokens = chat.max_tokens();
    q.set_worst_case_micro_usd(WorstCaseCost(m, plan->estimated_input_tokens, max_tokens));
    q.set_estimated_input_tokens(plan->estimated_input_tokens);
    q.set_max_output_tokens(OutputBound(m, max_tokens));
  }
  if (quotes.empty()) return first_error;
  return quotes;
}

}  // namespace p402::router
