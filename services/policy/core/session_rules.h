// File: services/policy/core/session_rules.h
// Agent sessions as pure functions: validation of a session request from the management API and
// the admission checks of one request spending from a session (state, allowed hours in the
// session's time zone, capabilities, providers and per-provider budgets, per-request cap,
// approval threshold). The atomic budget check is not here: it is the reservation (PolicyStore
// ReserveBudget with a session), so concurrent requests can never overspend the session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/common/money.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/records.h"

namespace p402::policy {

// Session tokens: this prefix + base62 of kSessionTokenEntropyBytes random bytes. An api_key
// credential starting with the prefix is treated as a session token.
inline constexpr std::string_view kSessionTokenPrefix = "sk-p402-sess-";
inline constexpr size_t kSessionTokenEntropyBytes = 24;
// Characters of the token kept as token_prefix (kSessionTokenPrefix + 4).
inline constexpr size_t kSessionTokenPrefixLength = 17;
inline constexpr int64_t kMinSessionDurationMs = 60'000;
inline constexpr int64_t kMaxSessionDurationMs = 30LL * 24 * 3600 * 1000;

// InvalidArgument naming the field: agent_id required (1..128 bytes, no control chars), wallet
// 0x + 40 hex, budget > 0, caps/threshold >= 0, provider ids valid ([a-z0-9._-]{1,64}), provider
// budgets > 0, capabilities in {"chat","embeddings"}, allowed_hours 0..23 / 0..24 and different,
// time zone loadable (absl::LoadTimeZone), duration within [kMin, kMax]. At most 64 entries per
// list/map.
absl::Status ValidateCreateSession(const v1::CreateSessionRequest& request);
// Same rules for the fields an update may change (top_up >= 0, extend_ms 0 or within bounds).
absl::Status ValidateUpdateSession(const v1::UpdateSessionRequest& request);

struct SessionRequestFacts {
  std::string capability;      // "chat" when empty
  std::string model_provider;  // explicit model's provider; empty when routed by mode
  MicroUsd worst_case_micro_usd = 0;
  int64_t now_unix_ms = 0;
  // True when the caller authenticated with the session token (a dead session is then an
  // authentication failure), false when a tenant key named it with p402.session_id.
  bool via_token = false;
};

struct SessionVerdict {
  // Refused: decision + code. Codes: "session_revoked", "session_expired" (DENY_UNAUTHENTICATED
  // via token, DENY_POLICY via session_id), "session_budget_exhausted" (DENY_BUDGET),
  // "outside_allowed_hours", "capability_not_allowed", "provider_not_allowed" (explicit model's
  // provider not in allowed_providers or its sub-budget spent) (DENY_POLICY).
  bool denied = false;
  v1::GuardDecision decision = v1::GUARD_DECISION_ALLOW;
  std::string code;
  std::string message;
  // Routing restrictions from the session: allowed_providers, and denied_providers = providers
  // whose sub-budget (budget - provider spent) is below the worst case.
  std::vector<std::string> allowed_providers;
  std::vector<std::string> denied_providers;
  // The session's per-request cap; nullopt = none.
  std::optional<MicroUsd> per_request_cap_micro_usd;
  // Worst case above require_approval_above (and > 0): the request must be approved first.
  bool needs_approval = false;
};

SessionVerdict CheckSession(const SessionRecord& session, const SessionRequestFacts& facts);

// True when `now_unix_ms` falls in the session's allowed hours (always true without any).
// A zone that fails to load counts as UTC (validation rejects such zones up front).
bool WithinAllowedHours(const SessionRecord& session, int64_t now_unix_ms);

}  // namespace p402::policy
