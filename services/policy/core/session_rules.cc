#include "services/policy/core/session_rules.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr size_t kMaxListEntries = 64;
constexpr size_t kMaxAgentIdBytes = 128;
constexpr size_t kMaxTimeZoneBytes = 64;
constexpr std::string_view kDefaultCapability = "chat";

std::string Str(std::string_view s) { return std::string(s); }

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsProviderIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool IsProviderId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), IsProviderIdChar);
}

bool IsKnownCapability(std::string_view capability) {
  return capability == "chat" || capability == "embeddings";
}

template <typename Container>
bool Contains(const Container& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

absl::Status NonNegative(int64_t value, std::string_view field) {
  if (value < 0) {
    return InvalidArgument(Str(field) + " must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status DurationInBounds(int64_t ms, std::string_view field) {
  if (ms < kMinSessionDurationMs || ms > kMaxSessionDurationMs) {
    return InvalidArgument(Str(field) + " must be between " +
                           std::to_string(kMinSessionDurationMs) + " and " +
                           std::to_string(kMaxSessionDurationMs));
  }
  return absl::OkStatus();
}

absl::Status ValidateWallet(std::string_view wallet) {
  if (wallet.empty()) {
    return absl::OkStatus();
  }
  const bool ok = wallet.size() == 42 && wallet[0] == '0' &&
                  (wallet[1] == 'x' || wallet[1] == 'X') &&
                  std::all_of(wallet.begin() + 2, wallet.end(), IsHex);
  if (!ok) {
    return InvalidArgument("wallet must be 0x followed by 40 hex digits");
  }
  return absl::OkStatus();
}

// IANA names only ("Area/Location", "UTC", "Etc/GMT+5"). The character check keeps path tricks
// ("../") away from the zoneinfo loader; "localtime" is refused because it would follow the
// server's own zone, not one the caller chose.
bool IsLoadableZoneName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTimeZoneBytes || name == "localtime" ||
      name.find("..") != std::string_view::npos || name.front() == '/') {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) {
      return false;
    }
  }
  absl::TimeZone zone;
  return absl::LoadTimeZone(Str(name), &zone);
}

absl::Status ValidateAllowedHours(const v1::AllowedHours& hours) {
  if (hours.start_hour() < 0 || hours.start_hour() > 23) {
    return InvalidArgument("allowed_hours.start_hour must be between 0 and 23");
  }
  if (hours.end_hour() < 0 || hours.end_hour() > 24) {
    return InvalidArgument("allowed_hours.end_hour must be between 0 and 24");
  }
  if (hours.start_hour() == hours.end_hour()) {
    return InvalidArgument("allowed_hours.end_hour must differ from allowed_hours.start_hour");
  }
  if (!hours.time_zone().empty() && !IsLoadableZoneName(hours.time_zone())) {
    return InvalidArgument("allowed_hours.time_zone is not a known time zone");
  }
  return absl::OkStatus();
}

absl::Status ValidateProviderBudgets(const google::protobuf::Map<std::string, int64_t>& budgets) {
  if (budgets.size() > kMaxListEntries) {
    return InvalidArgument("provider_budgets_micro_usd must have at most 64 entries");
  }
  for (const auto& [provider, budget] : budgets) {
    if (!IsProviderId(provider)) {
      return InvalidArgument(
          "provider_budgets_micro_usd keys must be provider ids ([a-z0-9._-]{1,64})");
    }
    if (budget <= 0) {
      return InvalidArgument("provider_budgets_micro_usd[\"" + provider + "\"] must be > 0");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAllowedProviders(const google::protobuf::RepeatedPtrField<std::string>& list) {
  if (static_cast<size_t>(list.size()) > kMaxListEntries) {
    return InvalidArgument("allowed_providers must have at most 64 entries");
  }
  for (int i = 0; i < list.size(); ++i) {
    if (!IsProviderId(list[i])) {
      return InvalidArgument("allowed_providers[" + std::to_string(i) +
                             "] must be a provider id ([a-z0-9._-]{1,64})");
    }
    if (std::find(list.begin(), list.begin() + i, list[i]) != list.begin() + i) {
      return InvalidArgument("allowed_providers[" + std::to_string(i) + "] repeats \"" + list[i] +
                             "\"");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCapabilities(const google::protobuf::RepeatedPtrField<std::string>& list) {
  if (static_cast<size_t>(list.size()) > kMaxListEntries) {
    return InvalidArgument("allowed_capabilities must have at most 64 entries");
  }
  for (int i = 0; i < list.size(); ++i) {
    if (!IsKnownCapability(list[i])) {
      return InvalidArgument("allowed_capabilities[" + std::to_string(i) +
                             "] must be \"chat\" or \"embeddings\"");
    }
  }
  return absl::OkStatus();
}

SessionVerdict Deny(SessionVerdict verdict, v1::GuardDecision decision, std::string_view code,
                    std::string message) {
  verdict.denied = true;
  verdict.decision = decision;
  verdict.code = Str(code);
  verdict.message = std::move(message);
  verdict.needs_approval = false;
  return verdict;
}

}  // namespace

absl::Status ValidateCreateSession(const v1::CreateSessionRequest& request) {
  if (request.agent_id().empty()) {
    return InvalidArgument("agent_id is required");
  }
  P402_RETURN_IF_ERROR(ValidateText(request.agent_id(), "agent_id", kMaxAgentIdBytes));
  P402_RETURN_IF_ERROR(ValidateWallet(request.wallet()));
  if (request.budget_micro_usd() <= 0) {
    return InvalidArgument("budget_micro_usd must be > 0");
  }
  P402_RETURN_IF_ERROR(
      NonNegative(request.per_request_cap_micro_usd(), "per_request_cap_micro_usd"));
  P402_RETURN_IF_ERROR(
      NonNegative(request.require_approval_above_micro_usd(), "require_approval_above_micro_usd"));
  P402_RETURN_IF_ERROR(ValidateProviderBudgets(request.provider_budgets_micro_usd()));
  P402_RETURN_IF_ERROR(ValidateAllowedProviders(request.allowed_providers()));
  P402_RETURN_IF_ERROR(ValidateCapabilities(request.allowed_capabilities()));
  if (request.has_allowed_hours()) {
    P402_RETURN_IF_ERROR(ValidateAllowedHours(request.allowed_hours()));
  }
  return DurationInBounds(request.duration_ms(), "duration_ms");
}

absl::Status ValidateUpdateSession(const v1::UpdateSessionRequest& request) {
  P402_RETURN_IF_ERROR(NonNegative(request.top_up_micro_usd(), "top_up_micro_usd"));
  if (request.extend_ms() != 0 && (request.extend_ms() < kMinSessionDurationMs ||
                                   request.extend_ms() > kMaxSessionDurationMs)) {
    return InvalidArgument("extend_ms must be 0 (unchanged) or between " +
                           std::to_string(kMinSessionDurationMs) + " and " +
                           std::to_string(kMaxSessionDurationMs));
  }
  if (request.has_per_request_cap_micro_usd()) {
    P402_RETURN_IF_ERROR(
        NonNegative(request.per_request_cap_micro_usd(), "per_request_cap_micro_usd"));
  }
  if (request.has_require_approval_above_micro_usd()) {
    P402_RETURN_IF_ERROR(NonNegative(request.require_approval_above_micro_usd(),
                                     "require_approval_above_micro_usd"));
  }
  return absl::OkStatus();
}

bool WithinAllowedHours(const SessionRecord& session, int64_t now_unix_ms) {
  if (!session.has_allowed_hours) {
    return true;
  }
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!session.allowed_time_zone.empty() && !absl::LoadTimeZone(session.allowed_time_zone, &zone)) {
    zone = absl::UTCTimeZone();
  }
  const int hour = absl::ToCivilHour(absl::FromUnixMillis(now_unix_ms), zone).hour();
  const int start = session.allowed_start_hour;
  const int end = session.allowed_end_hour;
  if (start < end) {
    return hour >= start && hour < end;  // end 24 = up to midnight
  }
  if (start > end) {
    return hour >= start || hour < end;  // wraps midnight, e.g. 22 -> 6
  }
  return false;  // empty window (validation refuses it): fail closed
}

SessionVerdict CheckSession(const SessionRecord& session, const SessionRequestFacts& facts) {
  SessionVerdict verdict;
  verdict.allowed_providers = session.allowed_providers;
  const MicroUsd worst_case = std::max<MicroUsd>(facts.worst_case_micro_usd, 0);
  for (const auto& [provider, budget] : session.provider_budgets_micro_usd) {
    auto spent = session.provider_spent_micro_usd.find(provider);
    const MicroUsd left =
        budget - (spent == session.provider_spent_micro_usd.end() ? 0 : spent->second);
    // Below the worst case, or nothing at all left (a zero-cost estimate must not pass either).
    if (left < worst_case || left < 1) {
      verdict.denied_providers.push_back(provider);
    }
  }
  if (session.per_request_cap_micro_usd > 0) {
    verdict.per_request_cap_micro_usd = session.per_request_cap_micro_usd;
  }

  // A dead session is an authentication failure for its own token (the credential no longer
  // works) and a policy denial for a tenant key that names it.
  const v1::GuardDecision dead =
      facts.via_token ? v1::GUARD_DECISION_DENY_UNAUTHENTICATED : v1::GUARD_DECISION_DENY_POLICY;
  // The state checks follow SessionStateAt, so the code always agrees with the status the
  // management API shows for the session at the same instant.
  switch (SessionStateAt(session, facts.now_unix_ms)) {
    case SessionState::kRevoked:
      return Deny(std::move(verdict), dead, "session_revoked",
                  "session " + session.id + " was revoked");
    case SessionState::kExpired:
      return Deny(std::move(verdict), dead, "session_expired",
                  "session " + session.id + " has expired");
    case SessionState::kExhausted:
      return Deny(std::move(verdict), v1::GUARD_DECISION_DENY_BUDGET, "session_budget_exhausted",
                  "session " + session.id + " has no budget left");
    case SessionState::kActive:
      break;
  }
  if (!WithinAllowedHours(session, facts.now_unix_ms)) {
    return Deny(std::move(verdict), v1::GUARD_DECISION_DENY_POLICY, "outside_allowed_hours",
                "session " + session.id + " may spend only between " +
                    std::to_string(session.allowed_start_hour) + ":00 and " +
                    std::to_string(session.allowed_end_hour) + ":00 " +
                    (session.allowed_time_zone.empty() ? "UTC" : session.allowed_time_zone));
  }
  const std::string capability =
      facts.capability.empty() ? std::string(kDefaultCapability) : facts.capability;
  if (!session.allowed_capabilities.empty() &&
      !Contains(session.allowed_capabilities, capability)) {
    return Deny(std::move(verdict), v1::GUARD_DECISION_DENY_POLICY, "capability_not_allowed",
                "session " + session.id + " may not use capability \"" + capability + "\"");
  }
  if (!facts.model_provider.empty()) {
    if (!session.allowed_providers.empty() &&
        !Contains(session.allowed_providers, facts.model_provider)) {
      return Deny(
          std::move(verdict), v1::GUARD_DECISION_DENY_POLICY, "provider_not_allowed",
          "session " + session.id + " may not use provider \"" + facts.model_provider + "\"");
    }
    if (Contains(verdict.denied_providers, facts.model_provider)) {
      return Deny(std::move(verdict), v1::GUARD_DECISION_DENY_POLICY, "provider_not_allowed",
                  "session " + session.id + " has not enough budget left for provider \"" +
                      facts.model_provider + "\"");
    }
  }
  verdict.needs_approval = session.require_approval_above_micro_usd > 0 &&
                           worst_case > session.require_approval_above_micro_usd;
  return verdict;
}

}  // namespace p402::policy
