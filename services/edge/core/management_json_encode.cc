// Management API response encoding: p402.v1 objects -> the JSON objects of
// docs/MANAGEMENT_API.md.
#include <algorithm>

#include "libs/common/money.h"
#include "services/edge/core/management_json.h"

namespace p402::edge {
namespace {

json::Value Usd(MicroUsd micros) { return json::Value(FormatUsd(micros)); }

// Unix seconds; `or_null` turns the proto's 0 ("never") into null.
json::Value Seconds(int64_t unix_ms, bool or_null = false) {
  if (or_null && unix_ms == 0) {
    return json::Value();
  }
  return json::Value(unix_ms / 1000);
}

json::Value OrNull(const std::string& s) { return s.empty() ? json::Value() : json::Value(s); }

template <typename List>
json::Value Strings(const List& list) {
  json::Array out;
  for (const std::string& s : list) {
    out.emplace_back(s);
  }
  return json::Value(std::move(out));
}

// A proto map<string, int64> of micro-USD, keys sorted (proto maps have no order).
template <typename Map>
json::Value UsdMap(const Map& map) {
  std::vector<std::pair<std::string, MicroUsd>> entries(map.begin(), map.end());
  std::sort(entries.begin(), entries.end());
  json::Value out = json::Value::EmptyObject();
  for (const auto& [key, micros] : entries) {
    out.Append(key, Usd(micros));
  }
  return out;
}

json::Value SpendingConfig(const v1::SpendingRule& rule) {
  json::Value c = json::Value::EmptyObject();
  if (rule.per_request_micro_usd() > 0) c.Set("per_request_usd", Usd(rule.per_request_micro_usd()));
  if (rule.per_hour_micro_usd() > 0) c.Set("per_hour_usd", Usd(rule.per_hour_micro_usd()));
  if (rule.per_day_micro_usd() > 0) c.Set("per_day_usd", Usd(rule.per_day_micro_usd()));
  if (rule.per_month_micro_usd() > 0) c.Set("per_month_usd", Usd(rule.per_month_micro_usd()));
  switch (rule.action()) {
    case v1::SPEND_ACTION_DENY:
      c.Set("action", "deny");
      break;
    case v1::SPEND_ACTION_ALERT:
      c.Set("action", "alert");
      break;
    case v1::SPEND_ACTION_THROTTLE:
      c.Set("action", "throttle");
      break;
    default:
      c.Set("action", json::Value());
      break;
  }
  return c;
}

json::Value TaskConfig(const v1::TaskRule& rule) {
  json::Array rules;
  for (const v1::TaskRuleEntry& entry : rule.rules()) {
    json::Value e = json::Value::EmptyObject();
    e.Set("task", entry.task());
    if (!entry.max_model().empty()) e.Set("max_model", entry.max_model());
    if (!entry.prefer_model().empty()) e.Set("prefer_model", entry.prefer_model());
    e.Set("allow_models", Strings(entry.allow_models()));
    rules.push_back(std::move(e));
  }
  json::Value c = json::Value::EmptyObject();
  c.Set("rules", json::Value(std::move(rules)));
  return c;
}

json::Value KillSwitchConfig(const v1::KillSwitchRule& rule) {
  json::Value c = json::Value::EmptyObject();
  if (rule.total_spend_micro_usd() > 0) c.Set("total_spend_usd", Usd(rule.total_spend_micro_usd()));
  // Basis points -> the fraction the client wrote (1000 -> 0.1; shortest form round-trips).
  if (rule.error_rate_bps() > 0) c.Set("error_rate", rule.error_rate_bps() / 10000.0);
  if (rule.error_window_ms() > 0) c.Set("window", FormatDuration(rule.error_window_ms()));
  if (rule.min_requests() > 0) c.Set("min_requests", static_cast<int64_t>(rule.min_requests()));
  return c;
}

std::string_view SessionStatusName(v1::SessionStatus status) {
  switch (status) {
    case v1::SESSION_STATUS_ACTIVE:
      return "active";
    case v1::SESSION_STATUS_EXHAUSTED:
      return "exhausted";
    case v1::SESSION_STATUS_EXPIRED:
      return "expired";
    case v1::SESSION_STATUS_REVOKED:
      return "revoked";
    default:
      return "unknown";
  }
}

std::string_view ApprovalStatusName(v1::ApprovalStatus status) {
  switch (status) {
    case v1::APPROVAL_STATUS_PENDING:
      return "pending";
    case v1::APPROVAL_STATUS_APPROVED:
      return "approved";
    case v1::APPROVAL_STATUS_DENIED:
      return "denied";
    case v1::APPROVAL_STATUS_EXPIRED:
      return "expired";
    case v1::APPROVAL_STATUS_USED:
      return "used";
    default:
      return "unknown";
  }
}

}  // namespace

json::Value TenantJson(const v1::Tenant& tenant) {
  json::Value t = json::Value::EmptyObject();
  t.Set("id", tenant.id());
  t.Set("object", "tenant");
  t.Set("name", tenant.name());
  t.Set("paused", tenant.paused());
  t.Set("pause_reason", OrNull(tenant.pause_reason()));
  t.Set("spent_usd", Usd(tenant.spent_micro_usd()));
  t.Set("reserved_usd", Usd(tenant.reserved_micro_usd()));
  t.Set("created_at", Seconds(tenant.created_unix_ms()));
  const v1::TenantLimits& l = tenant.limits();
  json::Value& limits = t.Set("limits", json::Value::EmptyObject());
  limits.Set("per_request_cap_usd", Usd(l.per_request_cap_micro_usd()));
  limits.Set("daily_limit_usd", Usd(l.daily_limit_micro_usd()));
  limits.Set("budget_usd", Usd(l.budget_micro_usd()));
  limits.Set("requests_per_hour", l.requests_per_hour());
  limits.Set("max_concurrent", static_cast<int64_t>(l.max_concurrent()));
  limits.Set("anomaly_zscore", l.anomaly_zscore_centi() / 100.0);
  limits.Set("reservation_ttl_seconds", l.reservation_ttl_ms() / 1000);
  return t;
}

json::Value ApiKeyJson(const v1::ApiKeyInfo& key) {
  json::Value k = json::Value::EmptyObject();
  k.Set("id", key.id());
  k.Set("object", "api_key");
  k.Set("name", key.name());
  k.Set("prefix", key.prefix());
  k.Set("admin", key.admin());
  k.Set("revoked", key.revoked());
  k.Set("created_at", Seconds(key.created_unix_ms()));
  return k;
}

json::Value PolicyJson(const v1::TenantPolicy& policy) {
  json::Value p = json::Value::EmptyObject();
  p.Set("id", policy.id());
  p.Set("object", "policy");
  p.Set("name", policy.name());
  switch (policy.rule_case()) {
    case v1::TenantPolicy::kSpending:
      p.Set("type", "spending");
      p.Set("config", SpendingConfig(policy.spending()));
      break;
    case v1::TenantPolicy::kProvider: {
      p.Set("type", "provider");
      json::Value& c = p.Set("config", json::Value::EmptyObject());
      c.Set("allow", Strings(policy.provider().allow()));
      c.Set("deny", Strings(policy.provider().deny()));
      break;
    }
    case v1::TenantPolicy::kModel: {
      p.Set("type", "model");
      json::Value& c = p.Set("config", json::Value::EmptyObject());
      c.Set("max_tier", OrNull(policy.model().max_tier()));
      c.Set("deny_models", Strings(policy.model().deny_models()));
      break;
    }
    case v1::TenantPolicy::kTask:
      p.Set("type", "task");
      p.Set("config", TaskConfig(policy.task()));
      break;
    case v1::TenantPolicy::kKillSwitch:
      p.Set("type", "killswitch");
      p.Set("config", KillSwitchConfig(policy.kill_switch()));
      break;
    default:
      p.Set("type", json::Value());
      p.Set("config", json::Value::EmptyObject());
      break;
  }
  p.Set("priority", static_cast<int64_t>(policy.priority()));
  p.Set("enabled", policy.enabled());
  p.Set("created_at", Seconds(policy.created_unix_ms()));
  p.Set("updated_at", Seconds(policy.updated_unix_ms()));
  return p;
}

json::Value SessionJson(const v1::AgentSession& session) {
  json::Value s = json::Value::EmptyObject();
  s.Set("id", session.id());
  s.Set("object", "session");
  s.Set("agent_id", session.agent_id());
  s.Set("wallet", OrNull(session.wallet()));
  s.Set("budget_usd", Usd(session.budget_micro_usd()));
  s.Set("per_request_cap_usd", Usd(session.per_request_cap_micro_usd()));
  s.Set("provider_budgets_usd", UsdMap(session.provider_budgets_micro_usd()));
  s.Set("allowed_providers", Strings(session.allowed_providers()));
  s.Set("allowed_capabilities", Strings(session.allowed_capabilities()));
  if (session.has_allowed_hours()) {
    const v1::AllowedHours& h = session.allowed_hours();
    json::Value& hours = s.Set("allowed_hours", json::Value::EmptyObject());
    hours.Set("start", static_cast<int64_t>(h.start_hour()));
    hours.Set("end", static_cast<int64_t>(h.end_hour()));
    hours.Set("time_zone", h.time_zone().empty() ? std::string("UTC") : h.time_zone());
  } else {
    s.Set("allowed_hours", json::Value());
  }
  s.Set("require_approval_above_usd", Usd(session.require_approval_above_micro_usd()));
  s.Set("status", SessionStatusName(session.status()));
  s.Set("spent_usd", Usd(session.spent_micro_usd()));
  s.Set("reserved_usd", Usd(session.reserved_micro_usd()));
  MicroUsd remaining =
      session.budget_micro_usd() - session.spent_micro_usd() - session.reserved_micro_usd();
  s.Set("remaining_usd", Usd(std::max<MicroUsd>(remaining, 0)));
  s.Set("provider_spent_usd", UsdMap(session.provider_spent_micro_usd()));
  s.Set("created_at", Seconds(session.created_unix_ms()));
  s.Set("expires_at", Seconds(session.expires_unix_ms()));
  s.Set("revoked_at", Seconds(session.revoked_unix_ms(), /*or_null=*/true));
  s.Set("token_prefix", session.token_prefix());
  return s;
}

json::Value ApprovalJson(const v1::Approval& approval) {
  json::Value a = json::Value::EmptyObject();
  a.Set("id", approval.id());
  a.Set("object", "approval");
  a.Set("session_id", approval.session_id());
  a.Set("request_id", approval.request_id());
  a.Set("amount_usd", Usd(approval.amount_micro_usd()));
  const v1::ModelRef& model = approval.model();
  if (model.model().empty()) {
    a.Set("model", json::Value());
  } else if (model.provider().empty()) {
    a.Set("model", model.model());
  } else {
    a.Set("model", model.provider() + "/" + model.model());
  }
  a.Set("status", ApprovalStatusName(approval.status()));
  a.Set("created_at", Seconds(approval.created_unix_ms()));
  a.Set("expires_at", Seconds(approval.expires_unix_ms()));
  a.Set("decided_at", Seconds(approval.decided_unix_ms(), /*or_null=*/true));
  a.Set("reason", OrNull(approval.decision_reason()));
  return a;
}

json::Value ListJson(json::Array data) {
  json::Value list = json::Value::EmptyObject();
  list.Set("object", "list");
  list.Set("data", json::Value(std::move(data)));
  return list;
}

json::Value PagedListJson(json::Array data, const std::string& next_cursor) {
  json::Value list = ListJson(std::move(data));
  list.Set("has_more", !next_cursor.empty());
  list.Set("next_cursor", OrNull(next_cursor));
  return list;
}

}  // namespace p402::edge
