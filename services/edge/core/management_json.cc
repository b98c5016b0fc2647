// Management API request parsing: bodies and queries -> p402.v1 requests (policies:
// management_json_policy.cc). The shared field readers live in management_json_fields.h; the
// encoders in management_json_encode.cc.
#include "services/edge/core/management_json.h"

#include "libs/common/status_macros.h"
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
constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMinSessionMs = kMinute;
constexpr int64_t kMaxSessionMs = 30 * kDay;
constexpr size_t kMaxListItems = 64;
constexpr size_t kMaxTextBytes = 256;
constexpr int64_t kMaxSessionPage = 500;

// ---- Tenant ----

absl::Status ParseLimits(const json::Value& value, v1::TenantLimits& limits) {
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(value, "limits",
                                               {"per_request_cap_usd", "daily_limit_usd",
                                                "budget_usd", "requests_per_hour", "max_concurrent",
                                                "anomaly_zscore", "reservation_ttl_seconds"}));
  if (const json::Value* v = f.Get("per_request_cap_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("per_request_cap_usd")));
    limits.set_per_request_cap_micro_usd(m);
  }
  if (const json::Value* v = f.Get("daily_limit_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("daily_limit_usd")));
    limits.set_daily_limit_micro_usd(m);
  }
  if (const json::Value* v = f.Get("budget_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("budget_usd")));
    limits.set_budget_micro_usd(m);
  }
  if (const json::Value* v = f.Get("requests_per_hour")) {
    P402_ASSIGN_OR_RETURN(int64_t n,
                          ReadInt(*v, f.Param("requests_per_hour"), 0, 1'000'000'000'000));
    limits.set_requests_per_hour(n);
  }
  if (const json::Value* v = f.Get("max_concurrent")) {
    P402_ASSIGN_OR_RETURN(int64_t n, ReadInt(*v, f.Param("max_concurrent"), 0, 1'000'000));
    limits.set_max_concurrent(static_cast<int32_t>(n));
  }
  if (const json::Value* v = f.Get("anomaly_zscore")) {
    P402_ASSIGN_OR_RETURN(int64_t centi,
                          mgmt_json::ReadScaled(*v, f.Param("anomaly_zscore"), 2, 1'000'000));
    limits.set_anomaly_zscore_centi(static_cast<int32_t>(centi));
  }
  if (const json::Value* v = f.Get("reservation_ttl_seconds")) {
    P402_ASSIGN_OR_RETURN(int64_t s, ReadInt(*v, f.Param("reservation_ttl_seconds"), 0, 86'400));
    limits.set_reservation_ttl_ms(s * 1000);
  }
  return absl::OkStatus();
}

// ---- Sessions ----

absl::Status ParseAllowedHours(const json::Value& value, v1::AllowedHours& hours) {
  P402_ASSIGN_OR_RETURN(Fields f,
                        Fields::Open(value, "allowed_hours", {"start", "end", "time_zone"}));
  P402_ASSIGN_OR_RETURN(const json::Value* start, f.Require("start"));
  P402_ASSIGN_OR_RETURN(int64_t s, ReadInt(*start, f.Param("start"), 0, 23));
  P402_ASSIGN_OR_RETURN(const json::Value* end, f.Require("end"));
  P402_ASSIGN_OR_RETURN(int64_t e, ReadInt(*end, f.Param("end"), 0, 24));
  if (s == e) {
    return BadValue(f.Param("end"), "must differ from 'start' (the window would be empty).");
  }
  hours.set_start_hour(static_cast<int32_t>(s));
  hours.set_end_hour(static_cast<int32_t>(e));
  if (const json::Value* tz = f.Get("time_zone")) {
    P402_ASSIGN_OR_RETURN(*hours.mutable_time_zone(), ReadString(*tz, f.Param("time_zone"), 64));
  }
  return absl::OkStatus();
}

absl::Status ParseSessionLimits(const Fields& f, v1::CreateSessionRequest& req) {
  if (const json::Value* v = f.Get("per_request_cap_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("per_request_cap_usd")));
    req.set_per_request_cap_micro_usd(m);
  }
  if (const json::Value* v = f.Get("require_approval_above_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, f.Param("require_approval_above_usd")));
    req.set_require_approval_above_micro_usd(m);
  }
  if (const json::Value* v = f.Get("provider_budgets_usd")) {
    const std::string param = f.Param("provider_budgets_usd");
    if (!v->is_object()) {
      return mgmt_json::WrongType(param, "an object", *v);
    }
    if (v->AsObject().size() > kMaxListItems) {
      return BadValue(param, "at most 64 providers are allowed.");
    }
    for (const auto& [provider, amount] : v->AsObject()) {
      const std::string at = mgmt_json::Field(param, provider);
      P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(amount, at));
      if (m == 0) {
        return BadValue(at, "must be > 0.");
      }
      (*req.mutable_provider_budgets_micro_usd())[provider] = m;
    }
  }
  if (const json::Value* v = f.Get("allowed_providers")) {
    P402_ASSIGN_OR_RETURN(auto list,
                          ReadStrings(*v, f.Param("allowed_providers"), kMaxListItems, 64));
    for (std::string& s : list) req.add_allowed_providers(std::move(s));
  }
  if (const json::Value* v = f.Get("allowed_capabilities")) {
    const std::string param = f.Param("allowed_capabilities");
    P402_ASSIGN_OR_RETURN(auto list, ReadStrings(*v, param, kMaxListItems, 32));
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i] != "chat" && list[i] != "embeddings") {
        return NotOneOf(mgmt_json::Index(param, i), list[i], {"chat", "embeddings"});
      }
      req.add_allowed_capabilities(list[i]);
    }
  }
  if (const json::Value* v = f.Get("allowed_hours")) {
    P402_RETURN_IF_ERROR(ParseAllowedHours(*v, *req.mutable_allowed_hours()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::UpdateTenantRequest> ParseTenantUpdate(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(root, "", {"name", "limits"}));
  v1::UpdateTenantRequest req;
  if (const json::Value* v = f.Get("name")) {
    P402_ASSIGN_OR_RETURN(*req.mutable_name(), ReadString(*v, "name", kMaxTextBytes));
  }
  if (const json::Value* v = f.Get("limits")) {
    P402_RETURN_IF_ERROR(ParseLimits(*v, *req.mutable_limits()));
  }
  return req;
}

absl::StatusOr<v1::SetTenantPausedRequest> ParseTenantPause(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(root, "", {"reason"}));
  v1::SetTenantPausedRequest req;
  req.set_paused(true);
  if (const json::Value* v = f.Get("reason")) {
    P402_ASSIGN_OR_RETURN(*req.mutable_reason(),
                          ReadString(*v, "reason", kMaxTextBytes, /*allow_empty=*/true));
  }
  return req;
}

absl::StatusOr<v1::SetTenantPausedRequest> ParseTenantResume(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_RETURN_IF_ERROR(Fields::Open(root, "", {}).status());
  v1::SetTenantPausedRequest req;
  req.set_paused(false);
  return req;
}

absl::StatusOr<v1::CreateApiKeyRequest> ParseApiKeyCreate(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(root, "", {"name", "admin"}));
  v1::CreateApiKeyRequest req;
  if (const json::Value* v = f.Get("name")) {
    P402_ASSIGN_OR_RETURN(*req.mutable_name(),
                          ReadString(*v, "name", kMaxTextBytes, /*allow_empty=*/true));
  }
  if (const json::Value* v = f.Get("admin")) {
    P402_ASSIGN_OR_RETURN(bool admin, ReadBool(*v, "admin"));
    req.set_admin(admin);
  }
  return req;
}

absl::StatusOr<v1::CreateSessionRequest> ParseSessionCreate(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(
      Fields f, Fields::Open(root, "",
                             {"agent_id", "budget_usd", "duration", "wallet", "per_request_cap_usd",
                              "provider_budgets_usd", "allowed_providers", "allowed_capabilities",
                              "allowed_hours", "require_approval_above_usd"}));
  v1::CreateSessionRequest req;
  P402_ASSIGN_OR_RETURN(const json::Value* agent, f.Require("agent_id"));
  P402_ASSIGN_OR_RETURN(*req.mutable_agent_id(), ReadString(*agent, "agent_id", 128));
  P402_ASSIGN_OR_RETURN(const json::Value* budget, f.Require("budget_usd"));
  P402_ASSIGN_OR_RETURN(MicroUsd budget_micros, ParseUsdJson(*budget, "budget_usd"));
  if (budget_micros == 0) {
    return BadValue("budget_usd", "must be > 0.");
  }
  req.set_budget_micro_usd(budget_micros);
  P402_ASSIGN_OR_RETURN(const json::Value* duration, f.Require("duration"));
  P402_ASSIGN_OR_RETURN(int64_t ms,
                        ReadDurationIn(*duration, "duration", kMinSessionMs, kMaxSessionMs));
  req.set_duration_ms(ms);
  if (const json::Value* v = f.Get("wallet")) {
    P402_ASSIGN_OR_RETURN(*req.mutable_wallet(), ReadString(*v, "wallet", 64));
  }
  P402_RETURN_IF_ERROR(ParseSessionLimits(f, req));
  return req;
}

absl::StatusOr<v1::UpdateSessionRequest> ParseSessionUpdate(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(root, "",
                                               {"top_up_usd", "extend", "per_request_cap_usd",
                                                "require_approval_above_usd"}));
  v1::UpdateSessionRequest req;
  if (const json::Value* v = f.Get("top_up_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, "top_up_usd"));
    req.set_top_up_micro_usd(m);
  }
  if (const json::Value* v = f.Get("extend")) {
    P402_ASSIGN_OR_RETURN(int64_t ms, ReadDurationIn(*v, "extend", kMinSessionMs, kMaxSessionMs));
    req.set_extend_ms(ms);
  }
  if (const json::Value* v = f.Get("per_request_cap_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, "per_request_cap_usd"));
    req.set_per_request_cap_micro_usd(m);
  }
  if (const json::Value* v = f.Get("require_approval_above_usd")) {
    P402_ASSIGN_OR_RETURN(MicroUsd m, ParseUsdJson(*v, "require_approval_above_usd"));
    req.set_require_approval_above_micro_usd(m);
  }
  return req;
}

absl::StatusOr<v1::DecideApprovalRequest> ParseApprovalDecision(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f, Fields::Open(root, "", {"decision", "reason"}));
  v1::DecideApprovalRequest req;
  P402_ASSIGN_OR_RETURN(const json::Value* d, f.Require("decision"));
  P402_ASSIGN_OR_RETURN(std::string decision, ReadString(*d, "decision", 16));
  if (decision != "approve" && decision != "deny") {
    return NotOneOf("decision", decision, {"approve", "deny"});
  }
  req.set_approve(decision == "approve");
  if (const json::Value* v = f.Get("reason")) {
    P402_ASSIGN_OR_RETURN(*req.mutable_reason(),
                          ReadString(*v, "reason", kMaxTextBytes, /*allow_empty=*/true));
  }
  return req;
}

absl::StatusOr<v1::ListSessionsRequest> ParseSessionListQuery(const QueryParams& query) {
  v1::ListSessionsRequest req;
  for (const auto& [key, value] : query) {
    if (key != "status" && key != "limit" && key != "after") {
      return mgmt_json::UnknownParam(key);
    }
    if (value.empty()) {
      continue;  // "?status=" reads as absent
    }
    if (key == "status") {
      constexpr std::pair<std::string_view, v1::SessionStatus> kStatuses[] = {
          {"active", v1::SESSION_STATUS_ACTIVE},
          {"exhausted", v1::SESSION_STATUS_EXHAUSTED},
          {"expired", v1::SESSION_STATUS_EXPIRED},
          {"revoked", v1::SESSION_STATUS_REVOKED}};
      bool known = false;
      for (const auto& [name, status] : kStatuses) {
        if (value == name) {
          req.set_status(status);
          known = true;
        }
      }
      if (!known) {
        return NotOneOf("status", value, {"active", "exhausted", "expired", "revoked"});
      }
    } else if (key == "limit") {
      P402_ASSIGN_OR_RETURN(int64_t n, mgmt_json::ReadQueryInt(value, "limit", 1, kMaxSessionPage));
      req.set_page_size(static_cast<int32_t>(n));
    } else {
      if (value.size() > 1024) {
        return BadValue("after", "is not a cursor returned by this API.");
      }
      req.set_page_token(value);
    }
  }
  return req;
}

absl::StatusOr<v1::ListApprovalsRequest> ParseApprovalListQuery(const QueryParams& query) {
  v1::ListApprovalsRequest req;
  for (const auto& [key, value] : query) {
    if (key != "status" && key != "session_id") {
      return mgmt_json::UnknownParam(key);
    }
    if (value.empty()) {
      continue;
    }
    if (key == "status") {
      if (value != "pending") {
        return NotOneOf("status", value, {"pending"});
      }
      req.set_pending_only(true);
    } else {
      if (value.size() > 128) {
        return BadValue("session_id", "is not a session id.");
      }
      req.set_session_id(value);
    }
  }
  return req;
}

}  // namespace p402::edge
