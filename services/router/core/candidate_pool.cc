#include "services/router/core/candidate_pool.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "absl/strings/match.h"
#include "libs/common/strings.h"
#include "services/router/core/route_planner.h"
#include "services/router/core/scoring.h"

namespace p402::router {
namespace {

bool InList(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view v) {
  for (const std::string& item : list) {
    if (absl::EqualsIgnoreCase(ToAbsl(item), ToAbsl(v))) return true;
  }
  return false;
}

bool ProviderAllowed(const PlanInputs& in, const std::string& provider) {
  const v1::RoutingOptions& o = in.options;
  const v1::RoutingConstraints& c = in.constraints;
  return (o.allowed_providers().empty() || InList(o.allowed_providers(), provider)) &&
         !InList(o.denied_providers(), provider) &&
         (c.allowed_providers().empty() || InList(c.allowed_providers(), provider)) &&
         !InList(c.denied_providers(), provider);
}

bool ModelAllowed(const v1::RoutingConstraints& c, const ModelEntry& m) {
  if (c.allowed_models().empty()) return true;
  for (const std::string& item : c.allowed_models()) {
    if (item == m.id || item == m.canonical || item == m.provider + "/" + m.id) return true;
  }
  return false;
}

// A deny list matches like the allow list (id, canonical name or "provider/id"), but
// case-insensitively: a denial errs on the side of excluding.
bool ModelDenied(const v1::RoutingConstraints& c, const ModelEntry& m) {
  if (c.denied_models().empty()) return false;
  std::string qualified = m.provider + "/" + m.id;
  for (const std::string& item : c.denied_models()) {
    absl::string_view v = ToAbsl(item);
    if (absl::EqualsIgnoreCase(v, ToAbsl(m.id)) || absl::EqualsIgnoreCase(v, ToAbsl(m.canonical)) ||
        absl::EqualsIgnoreCase(v, ToAbsl(qualified))) {
      return true;
    }
  }
  return false;
}

// Input + output price per 1M tokens: the per-token price max_model compares.
MicroUsd PricePerMillion(const ModelEntry& m) {
  return AddMoney(m.prices.input, m.prices.output).value_or(std::numeric_limits<MicroUsd>::max());
}

double LatencyOf(const PoolEntry& e) {
  return static_cast<double>(e.health.latency_p95_ms.value_or(e.model->latency_ms));
}

// Explicit-model pool: the model, then (failover enabled) its fallbacks, group by group.
void AddExplicit(const PlanInputs& in, const std::function<void(size_t, int)>& add) {
  const std::vector<ModelEntry>& models = in.catalog.models();
  for (size_t i : in.match.models) add(i, 0);
  if (!in.failover_enabled) return;
  bool pinned = in.match.provider_pinned || !in.options.provider().empty();
  const ModelEntry& first = models[in.match.models.front()];
  std::set<std::string> canonical;
  for (size_t i : in.match.models) canonical.insert(models[i].canonical);
  if (!pinned) {
    for (size_t i = 0; i < models.size(); ++i) {
      if (canonical.count(models[i].canonical)) add(i, 1);
    }
  }
  const auto& fallbacks = in.options.failover().fallback_providers();
  for (int k = 0; k < fallbacks.size(); ++k) {
    bool any = false;
    for (size_t i = 0; i < models.size(); ++i) {
      if (models[i].provider == fallbacks[k] && canonical.count(models[i].canonical)) {
        add(i, 2 + k);
        any = true;
      }
    }
    for (size_t i = 0; i < models.size() && !any; ++i) {
      if (models[i].provider == fallbacks[k] && models[i].tier == first.tier) add(i, 2 + k);
    }
  }
  if (fallbacks.empty()) {
    for (size_t i = 0; i < models.size(); ++i) {
      if (models[i].tier == first.tier && (!pinned || models[i].provider == first.provider)) {
        add(i, 1000);
      }
    }
  }
}

}  // namespace

std::vector<std::string> RequiredCapabilities(const v1::ChatRequest& chat,
                                              const v1::RoutingOptions& options) {
  std::vector<std::string> caps(options.required_capabilities().begin(),
                                options.required_capabilities().end());
  if (chat.tools_size() > 0) caps.push_back("tools");
  if (chat.stream()) caps.push_back("streaming");
  for (const v1::ChatMessage& m : chat.messages()) {
    for (const v1::ContentPart& p : m.parts()) {
      if (p.type() == "image_url") {
        caps.push_back("vision");
        break;
      }
    }
  }
  std::sort(caps.begin(), caps.end());
  caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
  return caps;
}

void ResolvePolicyModels(PlanInputs& in) {
  const v1::RoutingConstraints& c = in.constraints;
  if (!c.preferred_model().empty()) {
    ModelMatch m = in.catalog.Resolve(c.preferred_model());
    in.preferred.insert(m.models.begin(), m.models.end());
    if (m.models.empty()) {
      in.notes.push_back("preferred model \"" + c.preferred_model() +
                         "\" is not in the catalog; ignored");
    }
  }
  if (!c.max_model().empty()) {
    ModelMatch m = in.catalog.Resolve(c.max_model());
    for (size_t i : m.models) {
      MicroUsd price = PricePerMillion(in.catalog.models()[i]);
      in.max_model_price = in.max_model_price ? std::max(*in.max_model_price, price) : price;
    }
    if (m.models.empty()) {
      in.notes.push_back("max_model \"" + c.max_model() +
                         "\" is not in the catalog; no price cap applied");
    }
  }
}

std::vector<PoolEntry> BuildPool(const PlanInputs& in) {
  const std::vector<ModelEntry>& models = in.catalog.models();
  std::vector<PoolEntry> pool;
  std::vector<bool> seen(models.size(), false);
  auto add = [&](size_t i, int group) {
    if (seen[i]) return;
    seen[i] = true;
    PoolEntry e;
    e.index = i;
    e.model = &models[i];
    e.group = group;
    pool.push_back(e);
  };
  if (in.explicit_model) {
    AddExplicit(in, add);
  } else {
    for (size_t i = 0; i < models.size(); ++i) {
      if (in.options.provider().empty() || models[i].provider == in.options.provider()) {
        add(i, 0);
      }
    }
  }
  return pool;
}

void ApplyFilters(const PlanInputs& in, const HealthView& health, int64_t now_unix_ms,
                  std::vector<PoolEntry>& pool) {
  std::vector<std::string> caps = RequiredCapabilities(in.chat, in.options);
  int64_t needed = in.input_tokens + in.max_tokens.value_or(0);
  int64_t max_cost = in.options.max_cost_micro_usd();
  for (PoolEntry& e : pool) {
    const ModelEntry& m = *e.model;
    const ProviderInfo& p = in.catalog.ProviderOf(m);
    e.worst = WorstCaseCost(m, in.input_tokens, in.max_tokens);
    e.health = health.Get(m.provider, m.id);
    e.rate_limited = e.health.rate_limited_until_unix_ms > now_unix_ms;
    bool has_caps = std::all_of(caps.begin(), caps.end(),
                                [&](const std::string& c) { return m.HasCapability(c); });
    if (!IsSupportedProtocol(p.protocol)) {
      e.dq = v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL;
    } else if (!p.available) {
      e.dq = v1::DISQUALIFICATION_NO_CREDENTIALS;
    } else if (!ProviderAllowed(in, m.provider) || !ModelAllowed(in.constraints, m) ||
               ModelDenied(in.constraints, m)) {
      e.dq = v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED;
    } else if (in.max_tier && m.tier > *in.max_tier) {
      e.dq = v1::DISQUALIFICATION_TIER_NOT_ALLOWED;
    } else if (!has_caps) {
      e.dq = v1::DISQUALIFICATION_MISSING_CAPABILITY;
    } else if (m.context_window > 0 && needed > m.context_window) {
      e.dq = v1::DISQUALIFICATION_CONTEXT_TOO_SMALL;
    } else if ((max_cost > 0 && e.worst > max_cost) ||
               (in.max_model_price && PricePerMillion(m) > *in.max_model_price)) {
      e.dq = v1::DISQUALIFICATION_OVER_MAX_COST;
    } else if (e.health.circuit_open) {
      e.dq = v1::DISQUALIFICATION_CIRCUIT_OPEN;
    }
  }
}

void ScorePool(const PlanInputs& in, v1::RoutingMode mode, std::vector<PoolEntry>& pool) {
  std::vector<double> costs, latencies, qualities;
  for (const PoolEntry& e : pool) {
    if (e.dq != v1::DISQUALIFICATION_UNSPECIFIED) continue;
    costs.push_back(static_cast<double>(e.worst));
    latencies.push_back(LatencyOf(e));
    qualities.push_back(e.model->quality);
  }
  LogLowerIsBetter cost_norm(costs), latency_norm(latencies);
  LinearHigherIsBetter quality_norm(qualities);
  Weights w = WeightsFor(mode, in.options.weights());
  const std::string& task = in.options.task();
  for (PoolEntry& e : pool) {
    if (e.dq != v1::DISQUALIFICATION_UNSPECIFIED) continue;
    e.quality = quality_norm.Score(e.model->quality);
    e.task = 0.5 * TaskFit(task, *e.model) + 0.5 * e.quality;
    e.cost = cost_norm.Score(static_cast<double>(e.worst));
    e.latency = latency_norm.Score(LatencyOf(e));
    e.health_factor = HealthFactor(e.health.error_rate, e.rate_limited);
    // Full policy preference for the model the client named and for policy's preferred model
    // (a task rule's prefer_model); 0.5 for the rest.
    e.policy = in.requested.count(e.index) || in.preferred.count(e.index) ? 1.0 : 0.5;
    e.score = WeightedScore(w, e.task, e.cost, e.latency, e.health_factor, e.policy, e.quality) *
              (0.5 + 0.5 * TaskCapabilityShare(task, *e.model));
  }
}

}  // namespace p402::router
