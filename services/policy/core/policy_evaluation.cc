// EvaluatePolicies (policy_rules.h): combines a tenant's enabled policies for one request.
// ValidatePolicy lives in policy_rules.cc.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "libs/common/money.h"
#include "services/policy/core/policy_rules.h"

namespace p402::policy {
namespace {

// Tier rank: budget < mid < premium; -1 for anything else (ValidatePolicy refuses it).
int TierRank(std::string_view tier) {
  if (tier == "budget") return 0;
  if (tier == "mid") return 1;
  if (tier == "premium") return 2;
  return -1;
}

// True when model reference `ref` ("provider/model" or a bare model id) names the model
// `provider`/`model_id`.
bool RefMatches(std::string_view ref, std::string_view provider, std::string_view model_id) {
  if (ref == model_id) {
    return true;
  }
  return ref.size() == provider.size() + 1 + model_id.size() &&
         ref.substr(0, provider.size()) == provider && ref[provider.size()] == '/' &&
         ref.substr(provider.size() + 1) == model_id;
}

// Two references that can name the same model: equal, or one is the other with a provider
// prefix ("openai/gpt-4o" vs "gpt-4o"). Returns the more specific one, or empty when disjoint.
std::string_view CommonRef(std::string_view a, std::string_view b) {
  if (a == b) {
    return a;
  }
  auto ends_with_slash_ref = [](std::string_view longer, std::string_view shorter) {
    return longer.size() > shorter.size() + 1 &&
           longer.substr(longer.size() - shorter.size()) == shorter &&
           longer[longer.size() - shorter.size() - 1] == '/';
  };
  if (ends_with_slash_ref(a, b)) {
    return a;
  }
  if (ends_with_slash_ref(b, a)) {
    return b;
  }
  return {};
}

// `list`: any range of strings (std::vector, protobuf RepeatedPtrField).
template <typename List>
bool Contains(const List& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& item) { return item == value; });
}

void AddUnique(std::vector<std::string>& list, std::string_view value) {
  if (!Contains(list, value)) {
    list.emplace_back(value);
  }
}

// Intersection of two model allow lists (each non-empty), with mixed forms resolved to the more
// specific reference.
std::vector<std::string> IntersectModels(const std::vector<std::string>& a,
                                         const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const std::string& x : a) {
    for (const std::string& y : b) {
      std::string_view common = CommonRef(x, y);
      if (!common.empty()) {
        AddUnique(out, common);
      }
    }
  }
  return out;
}

// The entry of `rule` that applies to `task`: the one naming it exactly, else "*"; null if none.
const v1::TaskRuleEntry* MatchTask(const v1::TaskRule& rule, std::string_view task) {
  const v1::TaskRuleEntry* wildcard = nullptr;
  for (const v1::TaskRuleEntry& entry : rule.rules()) {
    if (!task.empty() && entry.task() == task) {
      return &entry;
    }
    if (entry.task() == "*" && wildcard == nullptr) {
      wildcard = &entry;
    }
  }
  return wildcard;
}

void Deny(PolicyVerdict& verdict, std::string code, std::string message, std::string policy_id) {
  verdict.denied = true;
  verdict.code = std::move(code);
  verdict.message = std::move(message);
  verdict.policy_id = std::move(policy_id);
}

std::string RequestedModel(const PolicyRequestFacts& facts) {
  return facts.model_provider + "/" + facts.model_id;
}

}  // namespace

PolicyVerdict EvaluatePolicies(const std::vector<v1::TenantPolicy>& policies,
                               const PolicyRequestFacts& facts) {
  std::vector<const v1::TenantPolicy*> active;
  for (const v1::TenantPolicy& policy : policies) {
    if (policy.enabled()) {
      active.push_back(&policy);
    }
  }
  std::sort(active.begin(), active.end(), [](const v1::TenantPolicy* a, const v1::TenantPolicy* b) {
    if (a->priority() != b->priority()) return a->priority() > b->priority();
    if (a->created_unix_ms() != b->created_unix_ms()) {
      return a->created_unix_ms() < b->created_unix_ms();
    }
    return a->id() < b->id();
  });

  PolicyVerdict verdict;
  v1::PolicyRouting& routing = verdict.routing;
  const bool explicit_model = !facts.model_provider.empty();

  // Collected first, decided after: a kill switch outranks any routing denial.
  std::string kill_switch_message;
  std::string kill_switch_policy;
  bool have_allow_list = false;
  std::vector<std::string> allowed_providers;
  std::vector<std::string> denied_providers;
  int max_tier = -1;
  bool have_task_allow = false;
  std::vector<std::string> allowed_models;
  // First policy (in order) that denies the explicitly requested model, per reason.
  std::string provider_denial;
  std::string provider_denial_policy;
  std::string model_denial;
  std::string model_denial_policy;

  for (const v1::TenantPolicy* policy : active) {
    switch (policy->rule_case()) {
      case v1::TenantPolicy::kSpending: {
        const v1::SpendingRule& rule = policy->spending();
        if (rule.per_request_micro_usd() > 0 &&
            (!verdict.per_request_cap_micro_usd ||
             rule.per_request_micro_usd() < *verdict.per_request_cap_micro_usd)) {
          verdict.per_request_cap_micro_usd = rule.per_request_micro_usd();
        }
        const std::pair<SpendPeriod, int64_t> windows[] = {
            {SpendPeriod::kHour, rule.per_hour_micro_usd()},
            {SpendPeriod::kDay, rule.per_day_micro_usd()},
            {SpendPeriod::kMonth, rule.per_month_micro_usd()}};
        for (const auto& [period, limit] : windows) {
          if (limit > 0) {
            verdict.spend_windows.push_back({.period = period,
                                             .limit_micro_usd = limit,
                                             .action = rule.action(),
                                             .policy_id = policy->id()});
          }
        }
        break;
      }
      case v1::TenantPolicy::kProvider: {
        const v1::ProviderRule& rule = policy->provider();
        for (const std::string& p : rule.deny()) {
          AddUnique(denied_providers, p);
        }
        if (!rule.allow().empty()) {
          if (!have_allow_list) {
            have_allow_list = true;
            for (const std::string& p : rule.allow()) {
              AddUnique(allowed_providers, p);
            }
          } else {
            std::erase_if(allowed_providers,
                          [&](const std::string& p) { return !Contains(rule.allow(), p); });
          }
        }
        if (explicit_model && provider_denial.empty()) {
          if (Contains(rule.deny(), facts.model_provider)) {
            provider_denial =
                "provider '" + facts.model_provider + "' is denied by policy " + policy->id();
          } else if (!rule.allow().empty() && !Contains(rule.allow(), facts.model_provider)) {
            provider_denial = "provider '" + facts.model_provider +
                              "' is not in the allowed providers of policy " + policy->id();
          }
          if (!provider_denial.empty()) {
            provider_denial_policy = policy->id();
          }
        }
        break;
      }
      case v1::TenantPolicy::kModel: {
        const v1::ModelRule& rule = policy->model();
        if (!rule.max_tier().empty()) {
          const int rank = TierRank(rule.max_tier());
          if (rank >= 0 && (max_tier < 0 || rank < max_tier)) {
            max_tier = rank;
            routing.set_max_tier(rule.max_tier());
          }
        }
        for (const std::string& m : rule.deny_models()) {
          if (!Contains(routing.denied_models(), m)) {
            routing.add_denied_models(m);
          }
          if (explicit_model && model_denial.empty() &&
              RefMatches(m, facts.model_provider, facts.model_id)) {
            model_denial =
                "model '" + RequestedModel(facts) + "' is denied by policy " + policy->id();
            model_denial_policy = policy->id();
          }
        }
        break;
      }
      case v1::TenantPolicy::kTask: {
        const v1::TaskRuleEntry* entry = MatchTask(policy->task(), facts.task);
        if (entry == nullptr) {
          break;
        }
        // One answer for the preference and the price ceiling: the first policy (highest
        // priority, then oldest) that gives one.
        if (routing.max_model().empty() && !entry->max_model().empty()) {
          routing.set_max_model(entry->max_model());
        }
        if (routing.preferred_model().empty() && !entry->prefer_model().empty()) {
          routing.set_preferred_model(entry->prefer_model());
        }
        if (!entry->allow_models().empty()) {
          std::vector<std::string> list(entry->allow_models().begin(), entry->allow_models().end());
          if (!have_task_allow) {
            have_task_allow = true;
            for (const std::string& m : list) {
              AddUnique(allowed_models, m);
            }
          } else {
            allowed_models = IntersectModels(allowed_models, list);
          }
          if (explicit_model && model_denial.empty() &&
              std::none_of(list.begin(), list.end(), [&](const std::string& m) {
                return RefMatches(m, facts.model_provider, facts.model_id);
              })) {
            model_denial = "model '" + RequestedModel(facts) + "' is not allowed for task '" +
                           (facts.task.empty() ? std::string("*") : facts.task) + "' by policy " +
                           policy->id();
            model_denial_policy = policy->id();
          }
        }
        break;
      }
      case v1::TenantPolicy::kKillSwitch: {
        const int64_t total = policy->kill_switch().total_spend_micro_usd();
        if (total > 0 && facts.tenant_spent_micro_usd >= total && kill_switch_policy.empty()) {
          kill_switch_policy = policy->id();
          kill_switch_message = "kill_switch: total spend $" +
                                FormatUsd(facts.tenant_spent_micro_usd) + " >= $" +
                                FormatUsd(total) + " (policy " + policy->id() + ")";
        }
        break;
      }
      case v1::TenantPolicy::RULE_NOT_SET:
        break;
    }
  }

  // A denied provider is never allowed (deny wins); only what can still be used is reported.
  std::erase_if(allowed_providers,
                [&](const std::string& p) { return Contains(denied_providers, p); });
  for (const std::string& p : allowed_providers) {
    routing.add_allowed_providers(p);
  }
  for (const std::string& p : denied_providers) {
    routing.add_denied_providers(p);
  }
  for (const std::string& m : allowed_models) {
    routing.add_allowed_models(m);
  }

  if (!kill_switch_policy.empty()) {
    verdict.kill_switch_tripped = true;
    Deny(verdict, "kill_switch_tripped", std::move(kill_switch_message),
         std::move(kill_switch_policy));
  } else if (!provider_denial.empty()) {
    Deny(verdict, "provider_denied", std::move(provider_denial), std::move(provider_denial_policy));
  } else if (have_allow_list && allowed_providers.empty()) {
    // Allow lists with nothing in common (or every allowed provider also denied): no provider
    // could serve any request, so refuse instead of letting the router fail obscurely.
    Deny(verdict, "provider_denied",
         "no provider is allowed: the tenant's provider policies' allow lists have no usable "
         "provider in common",
         "");
  } else if (!model_denial.empty()) {
    Deny(verdict, "model_denied", std::move(model_denial), std::move(model_denial_policy));
  } else if (have_task_allow && allowed_models.empty()) {
    Deny(verdict, "model_denied",
         "no model is allowed for task '" + (facts.task.empty() ? std::string("*") : facts.task) +
             "': the task policies' allow_models have no model in common",
         "");
  }
  return verdict;
}

}  // namespace p402::policy
