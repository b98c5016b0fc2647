// File: services/edge/core/management_json.h
// The JSON of the management API (docs/MANAGEMENT_API.md) <-> p402.v1 policy protos. Pure
// functions over libs/json, no I/O.
//
// Parsers turn a request body (or query) into the proto request the edge sends to the policy
// service. They leave `tenant_id` and ids taken from the URL empty: the caller fills them from the
// authenticated identity and the path, never from the body. They fail with InvalidArgument shaped
// for the OpenAI error body: the reason payload (ReasonOf) is one of invalid_json, invalid_type,
// invalid_value, missing_required_parameter, unknown_parameter, and the param payload
// (openai::ParamOf) names the field in JSON path syntax ("config.per_hour_usd",
// "config.rules[0].task"). A JSON null counts as an absent field. An empty body reads as {}.
//
// Encoders render the objects the API returns: money as strings with 6 decimals ("12.500000"),
// times as Unix seconds (null where the proto's 0 means "never"), an "object" member naming the
// kind.
//
// Thread-safety: all functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "p402/v1/policy.pb.h"

namespace p402::edge {

// Decoded query parameters, in request order.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// ---- Scalars ----

// A USD amount: a decimal string ("12.50") or a JSON number (read through its shortest decimal
// form, so 0.1 is exactly 100000), at most 6 decimals (trailing zeros beyond are fine), no
// exponent in strings ("1e3" is invalid_value). Negative -> invalid_value "must be >= 0".
absl::StatusOr<MicroUsd> ParseUsdJson(const json::Value& value, std::string_view param);

// A duration: "90s", "30m", "4h", "2d" or an integer number of seconds (JSON number or digits);
// must be > 0. Returns milliseconds.
absl::StatusOr<int64_t> ParseDurationJson(const json::Value& value, std::string_view param);

// Milliseconds as the shortest exact duration string of whole seconds: 14400000 -> "4h",
// 90000 -> "90s"; sub-second remainders are dropped.
std::string FormatDuration(int64_t ms);

// ---- Request bodies (tenant_id and path ids left empty) ----

// PATCH /v2/tenant: {"name"?, "limits"?: {...}}; `limits` replaces all limits (absent keys = 0,
// the service default), so `limits` is set in the request exactly when the body has it.
absl::StatusOr<v1::UpdateTenantRequest> ParseTenantUpdate(std::string_view body);
// POST /v2/tenant/pause: {"reason"?}. paused = true.
absl::StatusOr<v1::SetTenantPausedRequest> ParseTenantPause(std::string_view body);
// POST /v2/tenant/resume: {} (or an empty body). paused = false.
absl::StatusOr<v1::SetTenantPausedRequest> ParseTenantResume(std::string_view body);
// POST /v2/keys: {"name"?, "admin"?: false}.
absl::StatusOr<v1::CreateApiKeyRequest> ParseApiKeyCreate(std::string_view body);
// POST /v2/policies and PUT /v2/policies/:id: {"name", "type", "config", "priority"?: 0,
// "enabled"?: true}. The returned policy has no id, tenant or timestamps.
absl::StatusOr<v1::TenantPolicy> ParsePolicyBody(std::string_view body);
// POST /v2/sessions.
absl::StatusOr<v1::CreateSessionRequest> ParseSessionCreate(std::string_view body);
// PATCH /v2/sessions/:id: {"top_up_usd"?, "extend"?, "per_request_cap_usd"?,
// "require_approval_above_usd"?}.
absl::StatusOr<v1::UpdateSessionRequest> ParseSessionUpdate(std::string_view body);
// POST /v2/approvals/:id: {"decision": "approve"|"deny", "reason"?}.
absl::StatusOr<v1::DecideApprovalRequest> ParseApprovalDecision(std::string_view body);

// ---- Queries (unknown parameters are unknown_parameter) ----

// GET /v2/sessions: status (active|exhausted|expired|revoked), limit (1..500, default 100),
// after (a next_cursor).
absl::StatusOr<v1::ListSessionsRequest> ParseSessionListQuery(const QueryParams& query);
// GET /v2/approvals: session_id, status (only "pending" can be filtered on).
absl::StatusOr<v1::ListApprovalsRequest> ParseApprovalListQuery(const QueryParams& query);

// ---- Responses ----

json::Value TenantJson(const v1::Tenant& tenant);
json::Value ApiKeyJson(const v1::ApiKeyInfo& key);
json::Value PolicyJson(const v1::TenantPolicy& policy);
json::Value SessionJson(const v1::AgentSession& session);
json::Value ApprovalJson(const v1::Approval& approval);
// {"object":"list","data":[...]}; with a cursor (paged lists) also "has_more" and
// "next_cursor" (null on the last page).
json::Value ListJson(json::Array data);
json::Value PagedListJson(json::Array data, const std::string& next_cursor);

}  // namespace p402::edge
