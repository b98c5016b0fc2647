#include "services/policy/core/policy_rules.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxProviderIdBytes = 64;
constexpr size_t kMaxModelRefBytes = 256;
constexpr size_t kMaxTaskLabelBytes = 64;
constexpr int32_t kMaxErrorRateBps = 10'000;
constexpr int64_t kMinErrorWindowMs = 10'000;
constexpr int64_t kMaxErrorWindowMs = 86'400'000;

std::string Indexed(std::string_view field, int index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

bool IsProviderIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
bool IsTaskLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

absl::Status CheckProviderId(std::string_view id, const std::string& field) {
  if (id.empty() || id.size() > kMaxProviderIdBytes ||
      !std::all_of(id.begin(), id.end(), IsProviderIdChar)) {
    return InvalidArgument(field + " is not a valid provider id (1..64 of [a-z0-9._-])");
  }
  return absl::OkStatus();
}

absl::Status CheckModelRef(std::string_view ref, const std::string& field) {
  if (ref.empty()) {
    return InvalidArgument(field + " must not be empty");
  }
  if (ref.size() > kMaxModelRefBytes) {
    return InvalidArgument(field + " must be at most 256 bytes");
  }
  return ValidateText(ref, field, kMaxModelRefBytes);
}

absl::Status CheckListSize(int size, const std::string& field) {
  if (size > kMaxPolicyListEntries) {
    return InvalidArgument(field + " may have at most " + std::to_string(kMaxPolicyListEntries) +
                           " entries");
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(int64_t value, const std::string& field) {
  if (value < 0) {
    return InvalidArgument(field + " must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateSpending(const v1::SpendingRule& rule) {
  P402_RETURN_IF_ERROR(
      CheckNonNegative(rule.per_request_micro_usd(), "spending.per_request_micro_usd"));
  P402_RETURN_IF_ERROR(CheckNonNegative(rule.per_hour_micro_usd(), "spending.per_hour_micro_usd"));
  P402_RETURN_IF_ERROR(CheckNonNegative(rule.per_day_micro_usd(), "spending.per_day_micro_usd"));
  P402_RETURN_IF_ERROR(
      CheckNonNegative(rule.per_month_micro_usd(), "spending.per_month_micro_usd"));
  if (rule.per_request_micro_usd() == 0 && rule.per_hour_micro_usd() == 0 &&
      rule.per_day_micro_usd() == 0 && rule.per_month_micro_usd() == 0) {
    return InvalidArgument("a spending policy needs at least one limit");
  }
  switch (rule.action()) {
    case v1::SPEND_ACTION_DENY:
    case v1::SPEND_ACTION_ALERT:
    case v1::SPEND_ACTION_THROTTLE:
      return absl::OkStatus();
    case v1::SPEND_ACTION_UNSPECIFIED:
      return InvalidArgument("spending.action is required");
    default:  // an open enum may carry a number no version of the proto knows
      return InvalidArgument("spending.action must be deny, alert or throttle");
  }
}

absl::Status ValidateProvider(const v1::ProviderRule& rule) {
  if (rule.allow().empty() && rule.deny().empty()) {
    return InvalidArgument("a provider policy needs provider.allow or provider.deny");
  }
  P402_RETURN_IF_ERROR(CheckListSize(rule.allow_size(), "provider.allow"));
  P402_RETURN_IF_ERROR(CheckListSize(rule.deny_size(), "provider.deny"));
  for (int i = 0; i < rule.allow_size(); ++i) {
    P402_RETURN_IF_ERROR(CheckProviderId(rule.allow(i), Indexed("provider.allow", i)));
  }
  for (int i = 0; i < rule.deny_size(); ++i) {
    P402_RETURN_IF_ERROR(CheckProviderId(rule.deny(i), Indexed("provider.deny", i)));
  }
  return absl::OkStatus();
}

// Tier rank: budget < mid < premium; -1 for anything else.
int TierRank(std::string_view tier) {
  if (tier == "budget") return 0;
  if (tier == "mid") return 1;
  if (tier == "premium") return 2;
  return -1;
}

absl::Status ValidateModel(const v1::ModelRule& rule) {
  if (rule.max_tier().empty() && rule.deny_models().empty()) {
    return InvalidArgument("a model policy needs model.max_tier or model.deny_models");
  }
  if (!rule.max_tier().empty() && TierRank(rule.max_tier()) < 0) {
    return InvalidArgument("model.max_tier must be budget, mid or premium");
  }
  P402_RETURN_IF_ERROR(CheckListSize(rule.deny_models_size(), "model.deny_models"));
  for (int i = 0; i < rule.deny_models_size(); ++i) {
    P402_RETURN_IF_ERROR(CheckModelRef(rule.deny_models(i), Indexed("model.deny_models", i)));
  }
  return absl::OkStatus();
}

absl::Status ValidateTask(const v1::TaskRule& rule) {
  if (rule.rules().empty()) {
    return InvalidArgument("task.rules needs at least one entry");
  }
  P402_RETURN_IF_ERROR(CheckListSize(rule.rules_size(), "task.rules"));
  for (int i = 0; i < rule.rules_size(); ++i) {
    const v1::TaskRuleEntry& entry = rule.rules(i);
    const std::string field = Indexed("task.rules", i);
    const std::string& task = entry.task();
    if (task.empty()) {
      return InvalidArgument(field + ".task is required");
    }
    if (task != "*" && (task.size() > kMaxTaskLabelBytes ||
                        !std::all_of(task.begin(), task.end(), IsTaskLabelChar))) {
      return InvalidArgument(field + ".task must be \"*\" or 1..64 of [A-Za-z0-9._-]");
    }
    // A second entry for the same task could never match (the first one wins): a caller mistake.
    for (int j = 0; j < i; ++j) {
      if (rule.rules(j).task() == task) {
        return InvalidArgument(field + ".task repeats task.rules[" + std::to_string(j) + "].task");
      }
    }
    if (!entry.max_model().empty()) {
      P402_RETURN_IF_ERROR(CheckModelRef(entry.max_model(), field + ".max_model"));
    }
    if (!entry.prefer_model().empty()) {
      P402_RETURN_IF_ERROR(CheckModelRef(entry.prefer_model(), field + ".prefer_model"));
    }
    P402_RETURN_IF_ERROR(CheckListSize(entry.allow_models_size(), field + ".allow_models"));
    for (int k = 0; k < entry.allow_models_size(); ++k) {
      P402_RETURN_IF_ERROR(
          CheckModelRef(entry.allow_models(k), Indexed(field + ".allow_models", k)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKillSwitch(const v1::KillSwitchRule& rule) {
  P402_RETURN_IF_ERROR(
      CheckNonNegative(rule.total_spend_micro_usd(), "kill_switch.total_spend_micro_usd"));
  P402_RETURN_IF_ERROR(CheckNonNegative(rule.error_rate_bps(), "kill_switch.error_rate_bps"));
  if (rule.error_rate_bps() > kMaxErrorRateBps) {
    return InvalidArgument("kill_switch.error_rate_bps must be <= 10000");
  }
  if (rule.error_window_ms() != 0 &&
      (rule.error_window_ms() < kMinErrorWindowMs || rule.error_window_ms() > kMaxErrorWindowMs)) {
    return InvalidArgument(
        "kill_switch.error_window_ms must be 0 (default 5 minutes) or 10000..86400000");
  }
  P402_RETURN_IF_ERROR(CheckNonNegative(rule.min_requests(), "kill_switch.min_requests"));
  if (rule.total_spend_micro_usd() == 0 && rule.error_rate_bps() == 0) {
    return InvalidArgument(
        "a kill_switch policy needs kill_switch.total_spend_micro_usd or "
        "kill_switch.error_rate_bps");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePolicy(const v1::TenantPolicy& policy) {
  if (policy.name().empty()) {
    return InvalidArgument("policy.name is required");
  }
  P402_RETURN_IF_ERROR(ValidateText(policy.name(), "policy.name", kMaxNameBytes));
  if (policy.priority() < -kMaxPolicyPriority || policy.priority() > kMaxPolicyPriority) {
    return InvalidArgument("policy.priority must be between -1000000 and 1000000");
  }
  switch (policy.rule_case()) {
    case v1::TenantPolicy::kSpending:
      return ValidateSpending(policy.spending());
    case v1::TenantPolicy::kProvider:
      return ValidateProvider(policy.provider());
    case v1::TenantPolicy::kModel:
      return ValidateModel(policy.model());
    case v1::TenantPolicy::kTask:
      return ValidateTask(policy.task());
    case v1::TenantPolicy::kKillSwitch:
      return ValidateKillSwitch(policy.kill_switch());
    case v1::TenantPolicy::RULE_NOT_SET:
      break;
  }
  return InvalidArgument("rule is required");
}

}  // namespace p402::policy
