// Management API request parsing for policies: the policy body and each type's `config` ->
// p402.v1.TenantPolicy (see management_json.h).
#include "libs/common/status_macros.h"
#include "services/edge/core/management_json.h"
#include "services/edge/core/management_json_fields.h"

namespace p402::edge {

using mgmt_json::BadValue;
using mgmt_json::Fields;
using mgmt_json::NotOneOf;
using mgmt_json::ReadBool;
using mgmt_json::ReadDurationIn;
using mgmt_json::ReadInt;
using mgmt_json::ReadString;
using mgmt_json::ReadStrings;

namespace {

// Bounds documented in proto/p402/v1/policy.proto, checked here too so that errors name the JSON
// field (the service's messages name proto fields).
constexpr int64_t kMinErrorWindowMs = 10'000;
constexpr int64_t kMaxErrorWindowMs = 86'400'000;
constexpr int64_t kMaxPriority = 1'000'000;
constexpr size_t kMaxListItems = 64;
constexpr size_t kMaxModelRefBytes = 256;

// ---- Policies ----

absl::Status ParseSpending(const Fields& f, v1::SpendingRule& rule) {
  struct Limit {
    std::string_view key;
    void (v1::SpendingRule::*set)(int64_t);
  };
  constexpr Limit kLimits[] = {{"per_request_usd", &v1::SpendingRule::set_per_request_micro_usd},
                               {"per_hour_usd", &v1::SpendingRule::set_per_hour_micro_usd},
                               {"per_day_usd", &v1::SpendingRule::set_per_day_micro_usd},
                               {"per_month_usd", &v1::SpendingRule::set_per_month_micro_usd}};
  bool any = false;
  for (const Limit& limit : kLimits) {
    if (const json::Value* v = f.Get(limit.key)) {
      P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param(limit.key)));
      (rule.*limit.set)(m);
      any = any || m > 0;
    }
  }
  P402_ASSIGN_OR_RETURN(const json::Value* action_value, f.Require("action"));
  P402_ASSIGN_OR_RETURN(std::string action, ReadString(*action_value, f.Param("action"), 16));
  if (action == "deny") {
    rule.set_action(v1::SPEND_ACTION_DENY);
  } else if (action == "alert") {
    rule.set_action(v1::SPEND_ACTION_ALERT);
  } else if (action == "throttle") {
    rule.set_action(v1::SPEND_ACTION_THROTTLE);
  } else {
    return NotOneOf(f.Param("action"), action, {"deny", "alert", "throttle"});
  }
  if (!any) {
    return BadValue("config",
                    "a spending policy needs at least one limit above 0 (per_request_usd, "
                    "per_hour_usd, per_day_usd or per_month_usd).");
  }
  return absl::OkStatus();
}

absl::Status ParseProvider(const Fields& f, v1::ProviderRule& rule) {
  if (const json::Value* v = f.Get("allow")) {
    P402_ASSIGN_OR_RETURN(auto list, ReadStrings(*v, f.Param("allow"), kMaxListItems, 64));
    for (std::string& s : list) rule.add_allow(std::move(s));
  }
  if (const json::Value* v = f.Get("deny")) {
    P402_ASSIGN_OR_RETURN(auto list, ReadStrings(*v, f.Param("deny"), kMaxListItems, 64));
    for (std::string& s : list) rule.add_deny(std::move(s));
  }
  if (rule.allow().empty() && rule.deny().empty()) {
    return BadValue("config", "a provider policy needs a non-empty 'allow' or 'deny' list.");
  }
  return absl::OkStatus();
}

absl::Status ParseModel(const Fields& f, v1::ModelRule& rule) {
  if (const json::Value* v = f.Get("max_tier")) {
    P402_ASSIGN_OR_RETURN(std::string tier, ReadString(*v, f.Param("max_tier"), 16));
    if (tier != "budget" && tier != "mid" && tier != "premium") {
      return NotOneOf(f.Param("max_tier"), tier, {"budget", "mid", "premium"});
    }
    rule.set_max_tier(tier);
  }
  if (const json::Value* v = f.Get("deny_models")) {
    P402_ASSIGN_OR_RETURN(
        auto list, ReadStrings(*v, f.Param("deny_models"), kMaxListItems, kMaxModelRefBytes));
    for (std::string& s : list) rule.add_deny_models(std::move(s));
  }
  if (rule.max_tier().empty() && rule.deny_models().empty()) {
    return BadValue("config", "a model policy needs 'max_tier' or a non-empty 'deny_models'.");
  }
  return absl::OkStatus();
}

absl::Status ParseTask(const Fields& f, v1::TaskRule& rule) {
  P402_ASSIGN_OR_RETURN(const json::Value* rules, f.Require("rules"));
  const std::string param = f.Param("rules");
  if (!rules->is_array()) {
    return mgmt_json::WrongType(param, "an array", *rules);
  }
  const json::Array& entries = rules->AsArray();
  if (entries.empty() || entries.size() > kMaxListItems) {
    return BadValue(param,
                    "expected 1 to 64 rules, but got " + std::to_string(entries.size()) + ".");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string at = mgmt_json::Index(param, i);
    P402_ASSIGN_OR_RETURN(
        Fields e,
        Fields::Open(entries[i], at, {"task", "max_model", "prefer_model", "allow_models"}));
    v1::TaskRuleEntry* entry = rule.add_rules();
    P402_ASSIGN_OR_RETURN(const json::Value* task, e.Require("task"));
    P402_ASSIGN_OR_RETURN(*entry->mutable_task(), ReadString(*task, e.Param("task"), 64));
    if (const json::Value* v = e.Get("max_model")) {
      P402_ASSIGN_OR_RETURN(*entry->mutable_max_model(),
                            ReadString(*v, e.Param("max_model"), kMaxModelRefBytes));
    }
    if (const json::Value* v = e.Get("prefer_model")) {
      P402_ASSIGN_OR_RETURN(*entry->mutable_prefer_model(),
                            ReadString(*v, e.Param("prefer_model"), kMaxModelRefBytes));
    }
    if (const json::Value* v = e.Get("allow_models")) {
      P402_ASSIGN_OR_RETURN(
          auto list, ReadStrings(*v, e.Param("allow_models"), kMaxListItems, kMaxModelRefBytes));
      for (std::string& s : list) entry->add_allow_models(std::move(s));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseKillSwitch(const Fields& f, v1::KillSwitchRule& rule) {
  if (const json::Value* v = f.Get("total_spend_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("total_spend_usd")));
    rule.set_total_spend_micro_usd(m);
  }
  if (const json::Value* v = f.Get("error_rate")) {
    // A fraction (0.10 = 10%) with at most 4 decimals -> basis points.
    P402_ASSIGN_OR_RETURN(int64_t bps, mgmt_json::ReadScaled(*v, f.Param("error_rate"), 4, 10'000));
    rule.set_error_rate_bps(static_cast<int32_t>(bps));
  }
  if (const json::Value* v = f.Get("window")) {
    P402_ASSIGN_OR_RETURN(
        int64_t ms, ReadDurationIn(*v, f.Param("window"), kMinErrorWindowMs, kMaxErrorWindowMs));
    rule.set_error_window_ms(ms);
  }
  if (const json::Value* v = f.Get("min_requests")) {
    P402_ASSIGN_OR_RETURN(int64_t n, ReadInt(*v, f.Param("min_requests"), 0, 1'000'000'000));
    rule.set_min_requests(static_cast<int32_t>(n));
  }
  if (rule.total_spend_micro_usd() == 0 && rule.error_rate_bps() == 0) {
    return BadValue("config",
                    "a killswitch policy needs 'total_spend_usd' or 'error_rate' above 0.");
  }
  return absl::OkStatus();
}

absl::Status ParseRule(std::string_view type, const json::Value& config, v1::TenantPolicy& p) {
  if (type == "spending") {
    P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(config, "config",
                                                 {"per_request_usd", "per_hour_usd", "per_day_usd",
                                                  "per_month_usd", "action"}));
    return ParseSpending(f, *p.mutable_spending());
  }
  if (type == "provider") {
    P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(config, "config", {"allow", "deny"}));
    return ParseProvider(f, *p.mutable_provider());
  }
  if (type == "model") {
    P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(config, "config", {"max_tier", "deny_models"}));
    return ParseModel(f, *p.mutable_model());
  }
  if (type == "task") {
    P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(config, "config", {"rules"}));
    return ParseTask(f, *p.mutable_task());
  }
  P402_ASSIGN_OR_RETURN(
      Fields f,
      Fields::Open(config, "config", {"total_spend_usd", "error_rate", "window", "min_requests"}));
  return ParseKillSwitch(f, *p.mutable_kill_switch());
}

}  // namespace

absl::StatusOr<v1::TenantPolicy> ParsePolicyBody(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f,
                        Fields::Open(root, "", {"name", "type", "config", "priority", "enabled"}));
  v1::TenantPolicy policy;
  P402_ASSIGN_OR_RETURN(const json::Value* name, f.Require("name"));
  P402_ASSIGN_OR_RETURN(*policy.mutable_name(), ReadString(*name, "name", 128));
  P402_ASSIGN_OR_RETURN(const json::Value* type_value, f.Require("type"));
  // Not P402_ASSIGN_OR_RETURN into a std::string: g++ 12 then warns maybe-uninitialized.
  absl::StatusOr<std::string> type = ReadString(*type_value, "type", 32);
  if (!type.ok()) {
    return type.status();
  }
  if (*type != "spending" && *type != "provider" && *type != "model" && *type != "task" &&
      *type != "killswitch") {
    return NotOneOf("type", *type, {"spending", "provider", "model", "task", "killswitch"});
  }
  P402_ASSIGN_OR_RETURN(const json::Value* config, f.Require("config"));
  P402_RETURN_IF_ERROR(ParseRule(*type, *config, policy));
  if (const json::Value* v = f.Get("priority")) {
    P402_ASSIGN_OR_RETURN(int64_t p, ReadInt(*v, "priority", -kMaxPriority, kMaxPriority));
    policy.set_priority(static_cast<int32_t>(p));
  }
  policy.set_enabled(true);
  if (const json::Value* v = f.Get("enabled")) {
    P402_ASSIGN_OR_RETURN(bool enabled, ReadBool(*v, "enabled"));
    policy.set_enabled(enabled);
  }
  return policy;
}

}  // namespace p402::edge
