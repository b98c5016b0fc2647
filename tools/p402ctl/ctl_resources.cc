#include "tools/p402ctl/ctl_resources.h"

#include <set>
#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::ctl {
namespace {

// ---- policies ----

enum class Kind { kUsd, kList, kChoice, kNumber, kInt, kDuration };

// Convenience options: each belongs to one policy type and sets one key of its config.
struct TypeOption {
  std::string_view flag;
  std::string_view type;
  std::string_view key;
  Kind kind;
};

constexpr TypeOption kTypeOptions[] = {
    {"per-request", "spending", "per_request_usd", Kind::kUsd},
    {"per-hour", "spending", "per_hour_usd", Kind::kUsd},
    {"per-day", "spending", "per_day_usd", Kind::kUsd},
    {"per-month", "spending", "per_month_usd", Kind::kUsd},
    {"action", "spending", "action", Kind::kChoice},
    {"allow", "provider", "allow", Kind::kList},
    {"deny", "provider", "deny", Kind::kList},
    {"max-tier", "model", "max_tier", Kind::kChoice},
    {"deny-models", "model", "deny_models", Kind::kList},
    {"total-spend", "killswitch", "total_spend_usd", Kind::kUsd},
    {"error-rate", "killswitch", "error_rate", Kind::kNumber},
    {"window", "killswitch", "window", Kind::kDuration},
    {"min-requests", "killswitch", "min_requests", Kind::kInt},
};

absl::StatusOr<json::Value> TypeOptionValue(const TypeOption& t, const std::string& v) {
  const std::string what = "--" + std::string(t.flag);
  switch (t.kind) {
    case Kind::kUsd: {
      P402_ASSIGN_OR_RETURN(std::string usd, CheckUsd(what, v));
      return json::Value(usd);
    }
    case Kind::kList:
      return CommaList(v);
    case Kind::kChoice: {
      auto choice = t.flag == "action" ? CheckChoice(what, v, {"deny", "alert", "throttle"})
                                       : CheckChoice(what, v, {"budget", "mid", "premium"});
      P402_RETURN_IF_ERROR(choice.status());
      return json::Value(*choice);
    }
    case Kind::kNumber: {
      P402_ASSIGN_OR_RETURN(double rate, CheckNumber(what, v, 0, 1));
      return json::Value(rate);
    }
    case Kind::kInt: {
      P402_ASSIGN_OR_RETURN(int64_t n, CheckInt(what, v, 1, 1'000'000'000));
      return json::Value(n);
    }
    case Kind::kDuration: {
      P402_ASSIGN_OR_RETURN(std::string d, CheckDuration(what, v));
      return json::Value(d);
    }
  }
  return InvalidArgument(what + ": unsupported");
}

// What `policies create|update` asks to change.
struct PolicyEdit {
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<int64_t> priority;
  std::optional<bool> enabled;
  std::optional<json::Value> config;                 // --config: replaces the config
  json::Value options = json::Value::EmptyObject();  // type options: merged into it
  std::string implied_type;                          // the type of the type options
  std::string implied_by;                            // one of them, for messages
  bool IsEmpty() const {
    return !name && !type && !priority && !enabled && !config && options.AsObject().empty();
  }
};

absl::StatusOr<PolicyEdit> ReadPolicyEdit(const ParsedArgs& a) {
  PolicyEdit e;
  e.name = a.Get("name");
  if (auto t = a.Get("type")) {
    P402_ASSIGN_OR_RETURN(
        e.type, CheckChoice("--type", *t, {"spending", "provider", "model", "task", "killswitch"}));
  }
  if (auto p = a.Get("priority")) {
    P402_ASSIGN_OR_RETURN(e.priority, CheckInt("--priority", *p, -1'000'000, 1'000'000));
  }
  if (a.Has("enabled") && a.Has("disabled")) {
    return InvalidArgument("--enabled and --disabled cannot be combined");
  }
  if (a.Has("enabled") || a.Has("disabled")) {
    e.enabled = a.Has("enabled");
  }
  if (auto c = a.Get("config")) {
    auto parsed = json::Value::Parse(*c);
    if (!parsed.ok() || !parsed->is_object()) {
      return InvalidArgument("--config: expected a JSON object, e.g. '{\"per_day_usd\":\"100\"}'");
    }
    e.config = std::move(*parsed);
  }
  for (const TypeOption& t : kTypeOptions) {
    auto v = a.Get(t.flag);
    if (!v) {
      continue;
    }
    if (!e.implied_type.empty() && e.implied_type != t.type) {
      return InvalidArgument("--" + e.implied_by + " (" + e.implied_type + ") and --" +
                             std::string(t.flag) + " (" + std::string(t.type) +
                             ") belong to different policy types");
    }
    e.implied_type = std::string(t.type);
    e.implied_by = std::string(t.flag);
    P402_ASSIGN_OR_RETURN(json::Value value, TypeOptionValue(t, *v));
    e.options.Set(t.key, std::move(value));
  }
  if (e.type && !e.implied_type.empty() && *e.type != e.implied_type) {
    return InvalidArgument("--" + e.implied_by + " is a " + e.implied_type +
                           " option, not for --type " + *e.type);
  }
  return e;
}

// The policy body for POST (current == nullptr) or PUT (current = the policy as it is now).
absl::StatusOr<json::Value> ApplyPolicyEdit(const PolicyEdit& e, const json::Value* current) {
  const std::string current_type =
      current != nullptr ? std::string(current->GetString("type").value_or("")) : "";
  std::string type = e.type ? *e.type : !e.implied_type.empty() ? e.implied_type : current_type;
  if (type.empty()) {
    return InvalidArgument(
        "'policies create' needs --type (or a type option such as --per-day or --allow)");
  }
  if (current != nullptr && !e.type && !e.implied_type.empty() && e.implied_type != current_type) {
    return InvalidArgument("--" + e.implied_by + " is a " + e.implied_type +
                           " option but the policy is of type " + current_type);
  }
  std::optional<std::string> name = e.name;
  if (!name && current != nullptr) {
    if (auto n = current->GetString("name")) {
      name = std::string(*n);
    }
  }
  if (!name) {
    return InvalidArgument("'policies create' needs --name");
  }
  json::Value config = json::Value::EmptyObject();
  if (const json::Value* c = current != nullptr ? current->Find("config") : nullptr;
      c != nullptr && c->is_object() && type == current_type) {
    config = *c;
  }
  if (e.config) {
    config = *e.config;
  }
  for (const auto& [key, value] : e.options.AsObject()) {
    config.Set(key, value);
  }
  if (current == nullptr && type == "spending" && config.Find("action") == nullptr) {
    config.Set("action", json::Value("deny"));  // the safe default for a new spending limit
  }
  json::Value body = json::Value::EmptyObject();
  body.Set("name", json::Value(*name));
  body.Set("type", json::Value(type));
  body.Set("config", std::move(config));
  if (e.priority) {
    body.Set("priority", json::Value(*e.priority));
  } else if (auto p = current != nullptr ? current->GetInt("priority") : std::nullopt) {
    body.Set("priority", json::Value(*p));
  }
  if (e.enabled) {
    body.Set("enabled", json::Value(*e.enabled));
  } else if (auto en = current != nullptr ? current->GetBool("enabled") : std::nullopt) {
    body.Set("enabled", json::Value(*en));
  }
  return body;
}

// ---- sessions ----

// "9-17" or "9-17@America/New_York" -> {"start":9,"end":17[,"time_zone":...]}.
absl::StatusOr<json::Value> ParseHours(const std::string& s) {
  const size_t at = s.find('@');
  const std::string range = s.substr(0, at);
  const size_t dash = range.find('-');
  const std::string message =
      "--hours: expected START-END[@TIME_ZONE] (hours 0..24), got '" + s + "'";
  if (dash == std::string::npos || (at != std::string::npos && at + 1 == s.size())) {
    return InvalidArgument(message);
  }
  auto start = CheckInt("--hours", range.substr(0, dash), 0, 24);
  auto end = CheckInt("--hours", range.substr(dash + 1), 0, 24);
  if (!start.ok() || !end.ok()) {
    return InvalidArgument(message);
  }
  json::Value hours = json::Value::EmptyObject();
  hours.Set("start", json::Value(*start));
  hours.Set("end", json::Value(*end));
  if (at != std::string::npos) {
    hours.Set("time_zone", json::Value(s.substr(at + 1)));
  }
  return hours;
}

absl::Status BuildSessionCreate(const ParsedArgs& a, Command& cmd) {
  auto agent = a.Get("agent");
  auto budget = a.Get("budget");
  auto duration = a.Get("duration");
  if (!agent || !budget || !duration) {
    return InvalidArgument("'sessions create' needs --agent, --budget and --duration");
  }
  json::Value body = json::Value::EmptyObject();
  body.Set("agent_id", json::Value(*agent));
  P402_ASSIGN_OR_RETURN(std::string usd, CheckUsd("--budget", *budget));
  body.Set("budget_usd", json::Value(usd));
  P402_ASSIGN_OR_RETURN(std::string d, CheckDuration("--duration", *duration));
  body.Set("duration", json::Value(d));
  if (auto wallet = a.Get("wallet")) {
    body.Set("wallet", json::Value(*wallet));
  }
  P402_RETURN_IF_ERROR(SetUsdOption(a, "per-request-cap", body, "per_request_cap_usd"));
  const std::vector<std::string> budgets = a.GetAll("provider-budget");
  if (!budgets.empty()) {
    json::Value& per_provider = body.Set("provider_budgets_usd", json::Value::EmptyObject());
    for (const std::string& item : budgets) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("--provider-budget: expected PROVIDER=USD, got '" + item + "'");
      }
      const std::string provider = item.substr(0, eq);
      if (per_provider.Find(provider) != nullptr) {
        return InvalidArgument("--provider-budget: " + provider + " given twice");
      }
      P402_ASSIGN_OR_RETURN(std::string amount,
                            CheckUsd("--provider-budget " + provider, item.substr(eq + 1)));
      per_provider.Set(provider, json::Value(amount));
    }
  }
  if (auto providers = a.Get("allow-providers")) {
    body.Set("allowed_providers", CommaList(*providers));
  }
  if (auto caps = a.Get("capabilities")) {
    body.Set("allowed_capabilities", CommaList(*caps));
  }
  if (auto hours = a.Get("hours")) {
    P402_ASSIGN_OR_RETURN(json::Value h, ParseHours(*hours));
    body.Set("allowed_hours", std::move(h));
  }
  P402_RETURN_IF_ERROR(SetUsdOption(a, "approval-above", body, "require_approval_above_usd"));
  cmd.request = {"POST", "/v2/sessions", std::move(body)};
  return absl::OkStatus();
}

absl::Status BuildSessionList(const ParsedArgs& a, Command& cmd) {
  std::string query;
  auto add = [&query](std::string_view key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + QueryEscape(value);
  };
  if (auto status = a.Get("status")) {
    P402_ASSIGN_OR_RETURN(
        std::string s,
        CheckChoice("--status", *status, {"active", "exhausted", "expired", "revoked"}));
    add("status", s);
  }
  if (auto limit = a.Get("limit")) {
    P402_ASSIGN_OR_RETURN(int64_t n, CheckInt("--limit", *limit, 1, 500));
    add("limit", std::to_string(n));
  }
  if (auto after = a.Get("after")) {
    add("after", *after);
  }
  cmd.view = View::kSessionList;
  cmd.request = {"GET", "/v2/sessions" + query, std::nullopt};
  return absl::OkStatus();
}

}  // namespace

std::vector<OptionSpec> PolicyOptions(bool update) {
  std::vector<OptionSpec> options = {
      {"name"}, {"type"}, {"priority"}, {"disabled", false}, {"config"}};
  if (update) {
    options.push_back({"enabled", false});
  }
  for (const TypeOption& t : kTypeOptions) {
    options.push_back({t.flag});
  }
  return options;
}

absl::Status BuildPolicies(std::string_view verb, const ParsedArgs& a, Command& cmd) {
  cmd.view = View::kPolicy;
  if (verb == "list") {
    cmd.view = View::kPolicyList;
    cmd.request = {"GET", "/v2/policies", std::nullopt};
    return absl::OkStatus();
  }
  if (verb == "create") {
    P402_ASSIGN_OR_RETURN(PolicyEdit edit, ReadPolicyEdit(a));
    P402_ASSIGN_OR_RETURN(json::Value body, ApplyPolicyEdit(edit, nullptr));
    cmd.request = {"POST", "/v2/policies", std::move(body)};
    return absl::OkStatus();
  }
  P402_ASSIGN_OR_RETURN(std::string id, CheckId("policy id", a.positionals[0]));
  const std::string path = "/v2/policies/" + id;
  if (verb == "get") {
    cmd.request = {"GET", path, std::nullopt};
  } else if (verb == "delete") {
    cmd.request = {"DELETE", path, std::nullopt};
  } else {  // update: PUT replaces the whole policy, so start from the current one
    P402_ASSIGN_OR_RETURN(PolicyEdit edit, ReadPolicyEdit(a));
    if (edit.IsEmpty()) {
      return InvalidArgument("'policies update' needs at least one option");
    }
    cmd.request = {"PUT", path, std::nullopt};
    cmd.prefetch_path = path;
    cmd.build_body = [edit](const json::Value& current) { return ApplyPolicyEdit(edit, &current); };
  }
  return absl::OkStatus();
}

absl::Status BuildSessions(std::string_view verb, const ParsedArgs& a, Command& cmd) {
  cmd.view = View::kSession;
  if (verb == "list") {
    return BuildSessionList(a, cmd);
  }
  if (verb == "create") {
    return BuildSessionCreate(a, cmd);
  }
  P402_ASSIGN_OR_RETURN(std::string id, CheckId("session id", a.positionals[0]));
  const std::string path = "/v2/sessions/" + id;
  json::Value patch = json::Value::EmptyObject();
  if (verb == "get") {
    cmd.request = {"GET", path, std::nullopt};
    return absl::OkStatus();
  }
  if (verb == "revoke") {
    cmd.request = {"DELETE", path, std::nullopt};
    return absl::OkStatus();
  }
  if (verb == "topup") {
    P402_ASSIGN_OR_RETURN(std::string usd, CheckUsd("USD", a.positionals[1]));
    patch.Set("top_up_usd", json::Value(usd));
  } else if (verb == "extend") {
    P402_ASSIGN_OR_RETURN(std::string d, CheckDuration("DURATION", a.positionals[1]));
    patch.Set("extend", json::Value(d));
  } else {  // update
    P402_RETURN_IF_ERROR(SetUsdOption(a, "per-request-cap", patch, "per_request_cap_usd"));
    P402_RETURN_IF_ERROR(SetUsdOption(a, "approval-above", patch, "require_approval_above_usd"));
    if (patch.AsObject().empty()) {
      return InvalidArgument("'sessions update' needs --per-request-cap or --approval-above");
    }
  }
  cmd.request = {"PATCH", path, std::move(patch)};
  return absl::OkStatus();
}

absl::Status BuildApprovals(std::string_view verb, const ParsedArgs& a, Command& cmd) {
  cmd.view = View::kApproval;
  if (verb == "list") {
    std::string query;
    if (auto session = a.Get("session")) {
      P402_ASSIGN_OR_RETURN(std::string id, CheckId("--session", *session));
      query += "?session_id=" + id;
    }
    if (a.Has("pending")) {
      query += (query.empty() ? "?" : "&") + std::string("status=pending");
    }
    cmd.view = View::kApprovalList;
    cmd.request = {"GET", "/v2/approvals" + query, std::nullopt};
    return absl::OkStatus();
  }
  P402_ASSIGN_OR_RETURN(std::string id, CheckId("approval id", a.positionals[0]));
  const std::string path = "/v2/approvals/" + id;
  if (verb == "get") {
    cmd.request = {"GET", path, std::nullopt};
    return absl::OkStatus();
  }
  json::Value body = json::Value::EmptyObject();
  body.Set("decision", json::Value(verb == "approve" ? "approve" : "deny"));
  if (auto reason = a.Get("reason")) {
    body.Set("reason", json::Value(*reason));
  }
  cmd.request = {"POST", path, std::move(body)};
  return absl::OkStatus();
}

}  // namespace p402::ctl
