// ParseCommand: p402ctl's command line -> the management API call(s). Pure; see ctl_commands.h.
#include "tools/p402ctl/ctl_commands.h"

#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "tools/p402ctl/ctl_args.h"
#include "tools/p402ctl/ctl_resources.h"

namespace p402::ctl {
namespace {

// ---- Usage text: one block per resource (also the answer to `<resource> --help`). ----

constexpr std::string_view kUsageHead =
    "usage: p402ctl [--url URL] [--json] <resource> <verb> [args] [--option value ...]\n"
    "\n"
    "The admin API key is read from P402_ADMIN_KEY (or the file named by P402_ADMIN_KEY_FILE);\n"
    "it is never taken from a flag. --url defaults to $P402_URL, else http://127.0.0.1:8080.\n"
    "Amounts are USD (\"12.50\"); durations are 90s, 30m, 4h, 2d or seconds.\n"
    "--json prints the server's JSON answer as is.\n"
    "Exit codes: 0 ok, 1 error answered by the server, 2 usage error, 3 server unreachable.\n"
    "\n";

constexpr std::string_view kResources[] = {"tenant", "keys", "policies", "sessions", "approvals"};

std::string ResourceUsage(std::string_view resource) {
  if (resource == "tenant") {
    return "  p402ctl tenant get\n"
           "  p402ctl tenant update [--name N] [--per-request-cap USD] [--daily-limit USD]\n"
           "                        [--budget USD] [--requests-per-hour N] [--max-concurrent N]\n"
           "                        [--anomaly-zscore Z] [--reservation-ttl DURATION]\n"
           "                        (limits not given keep their current value)\n"
           "  p402ctl tenant pause [--reason R]\n"
           "  p402ctl tenant resume\n";
  }
  if (resource == "keys") {
    return "  p402ctl keys list\n"
           "  p402ctl keys create [--name N] [--admin]\n"
           "  p402ctl keys revoke ID\n";
  }
  if (resource == "policies") {
    return "  p402ctl policies list\n"
           "  p402ctl policies get ID\n"
           "  p402ctl policies create --name N [--type T] [--priority P] [--disabled]\n"
           "                          [--config JSON] [type options]\n"
           "  p402ctl policies update ID [--name N] [--type T] [--priority P]\n"
           "                          [--enabled|--disabled] [--config JSON] [type options]\n"
           "                          (what is not given keeps its current value)\n"
           "  p402ctl policies delete ID\n"
           "    type options (they imply --type and are merged into --config):\n"
           "      spending:   --per-request USD --per-hour USD --per-day USD --per-month USD\n"
           "                  --action deny|alert|throttle (create default: deny)\n"
           "      provider:   --allow a,b --deny c,d\n"
           "      model:      --max-tier budget|mid|premium --deny-models m1,m2\n"
           "      killswitch: --total-spend USD --error-rate 0.1 --window 5m --min-requests N\n"
           "      task:       --config '{\"rules\":[{\"task\":\"*\",\"max_model\":\"...\"}]}'\n";
  }
  if (resource == "sessions") {
    return "  p402ctl sessions list [--status active|exhausted|expired|revoked] [--limit N]\n"
           "                        [--after CURSOR]\n"
           "  p402ctl sessions get ID\n"
           "  p402ctl sessions create --agent A --budget USD --duration 4h [--wallet 0x..]\n"
           "                          [--per-request-cap USD] [--provider-budget NAME=USD]...\n"
           "                          [--allow-providers a,b] [--capabilities chat,embeddings]\n"
           "                          [--hours 9-17[@America/New_York]] [--approval-above USD]\n"
           "  p402ctl sessions topup ID USD\n"
           "  p402ctl sessions extend ID DURATION\n"
           "  p402ctl sessions update ID [--per-request-cap USD] [--approval-above USD]\n"
           "  p402ctl sessions revoke ID\n";
  }
  return "  p402ctl approvals list [--session ID] [--pending]\n"
         "  p402ctl approvals get ID\n"
         "  p402ctl approvals approve ID [--reason R]\n"
         "  p402ctl approvals deny ID [--reason R]\n";
}

std::string IdPath(std::string_view collection, const std::string& checked_id) {
  return std::string(collection) + "/" + checked_id;
}

// ---- tenant ----

absl::Status BuildTenantUpdate(const ParsedArgs& a, Command& cmd) {
  // The API replaces *all* limits, so the ones given are applied onto the current ones.
  json::Value limits = json::Value::EmptyObject();
  for (auto [flag, key] :
       {std::pair{"per-request-cap", "per_request_cap_usd"},
        std::pair{"daily-limit", "daily_limit_usd"}, std::pair{"budget", "budget_usd"}}) {
    P402_RETURN_IF_ERROR(SetUsdOption(a, flag, limits, key));
  }
  if (auto v = a.Get("requests-per-hour")) {
    P402_ASSIGN_OR_RETURN(int64_t n, CheckInt("--requests-per-hour", *v, 0, 1'000'000'000'000));
    limits.Set("requests_per_hour", json::Value(n));
  }
  if (auto v = a.Get("max-concurrent")) {
    P402_ASSIGN_OR_RETURN(int64_t n, CheckInt("--max-concurrent", *v, 0, 1'000'000));
    limits.Set("max_concurrent", json::Value(n));
  }
  if (auto v = a.Get("anomaly-zscore")) {
    P402_ASSIGN_OR_RETURN(double z, CheckNumber("--anomaly-zscore", *v, 0, 1'000'000));
    limits.Set("anomaly_zscore", json::Value(z));
  }
  if (auto v = a.Get("reservation-ttl")) {
    P402_ASSIGN_OR_RETURN(std::string d, CheckDuration("--reservation-ttl", *v));
    limits.Set("reservation_ttl_seconds", json::Value(DurationSeconds(d)));
  }
  const std::optional<std::string> name = a.Get("name");
  if (!name && limits.AsObject().empty()) {
    return InvalidArgument("'tenant update' needs at least one option (p402ctl tenant --help)");
  }
  json::Value body = json::Value::EmptyObject();
  if (name) {
    body.Set("name", json::Value(*name));
  }
  cmd.request = {"PATCH", "/v2/tenant", body};
  if (!limits.AsObject().empty()) {
    cmd.prefetch_path = "/v2/tenant";
    cmd.build_body = [body, limits](const json::Value& current) -> absl::StatusOr<json::Value> {
      json::Value merged = json::Value::EmptyObject();
      if (const json::Value* now = current.Find("limits"); now != nullptr && now->is_object()) {
        merged = *now;
      }
      for (const auto& [key, value] : limits.AsObject()) {
        merged.Set(key, value);
      }
      json::Value out = body;
      out.Set("limits", std::move(merged));
      return out;
    };
  }
  return absl::OkStatus();
}

absl::Status BuildTenant(std::string_view verb, const ParsedArgs& a, Command& cmd) {
  cmd.view = View::kTenant;
  if (verb == "get") {
    cmd.request = {"GET", "/v2/tenant", std::nullopt};
  } else if (verb == "pause") {
    json::Value body = json::Value::EmptyObject();
    if (auto reason = a.Get("reason")) {
      body.Set("reason", json::Value(*reason));
    }
    cmd.request = {"POST", "/v2/tenant/pause", std::move(body)};
  } else if (verb == "resume") {
    cmd.request = {"POST", "/v2/tenant/resume", json::Value::EmptyObject()};
  } else {
    return BuildTenantUpdate(a, cmd);
  }
  return absl::OkStatus();
}

// ---- keys ----

absl::Status BuildKeys(std::string_view verb, const ParsedArgs& a, Command& cmd) {
  cmd.view = View::kKey;
  if (verb == "list") {
    cmd.view = View::kKeyList;
    cmd.request = {"GET", "/v2/keys", std::nullopt};
  } else if (verb == "create") {
    json::Value body = json::Value::EmptyObject();
    if (auto name = a.Get("name")) {
      body.Set("name", json::Value(*name));
    }
    if (a.Has("admin")) {
      body.Set("admin", json::Value(true));
    }
    cmd.request = {"POST", "/v2/keys", std::move(body)};
  } else {  // revoke
    P402_ASSIGN_OR_RETURN(std::string id, CheckId("key id", a.positionals[0]));
    cmd.request = {"DELETE", IdPath("/v2/keys", id), std::nullopt};
  }
  return absl::OkStatus();
}

struct VerbSpec {
  std::string_view resource;
  std::string_view verb;
  std::vector<std::string_view> positionals;
  std::vector<OptionSpec> options;
};

const std::vector<VerbSpec>& Verbs() {
  static const auto* verbs = new std::vector<VerbSpec>{
      {"tenant", "get", {}, {}},
      {"tenant",
       "update",
       {},
       {{"name"},
        {"per-request-cap"},
        {"daily-limit"},
        {"budget"},
        {"requests-per-hour"},
        {"max-concurrent"},
        {"anomaly-zscore"},
        {"reservation-ttl"}}},
      {"tenant", "pause", {}, {{"reason"}}},
      {"tenant", "resume", {}, {}},
      {"keys", "list", {}, {}},
      {"keys", "create", {}, {{"name"}, {"admin", false}}},
      {"keys", "revoke", {"ID"}, {}},
      {"policies", "list", {}, {}},
      {"policies", "get", {"ID"}, {}},
      {"policies", "create", {}, PolicyOptions(false)},
      {"policies", "update", {"ID"}, PolicyOptions(true)},
      {"policies", "delete", {"ID"}, {}},
      {"sessions", "list", {}, {{"status"}, {"limit"}, {"after"}}},
      {"sessions", "get", {"ID"}, {}},
      {"sessions",
       "create",
       {},
       {{"agent"},
        {"budget"},
        {"duration"},
        {"wallet"},
        {"per-request-cap"},
        {"provider-budget", true, true},
        {"allow-providers"},
        {"capabilities"},
        {"hours"},
        {"approval-above"}}},
      {"sessions", "topup", {"ID", "USD"}, {}},
      {"sessions", "extend", {"ID", "DURATION"}, {}},
      {"sessions", "update", {"ID"}, {{"per-request-cap"}, {"approval-above"}}},
      {"sessions", "revoke", {"ID"}, {}},
      {"approvals", "list", {}, {{"session"}, {"pending", false}}},
      {"approvals", "get", {"ID"}, {}},
      {"approvals", "approve", {"ID"}, {{"reason"}}},
      {"approvals", "deny", {"ID"}, {{"reason"}}},
  };
  return *verbs;
}

absl::StatusOr<std::string> CheckUrl(std::string url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return InvalidArgument("--url must start with http:// or https://, got '" + url + "'");
  }
  while (url.size() > 8 && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

}  // namespace

std::string UsageText() {
  std::string out(kUsageHead);
  for (std::string_view r : kResources) {
    out += ResourceUsage(r);
  }
  return out;
}

absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args,
                                     std::string_view env_url) {
  Command cmd;
  std::string url = env_url.empty() ? std::string(kDefaultUrl) : std::string(env_url);
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      cmd.json = true;
    } else if (a == "--help" || a == "-h") {
      cmd.help = true;
    } else if (a == "--url") {
      if (i + 1 >= args.size()) {
        return InvalidArgument("--url needs a value");
      }
      url = args[++i];
    } else if (a.rfind("--url=", 0) == 0) {
      url = a.substr(6);
    } else {
      rest.push_back(a);
    }
  }
  P402_ASSIGN_OR_RETURN(cmd.url, CheckUrl(std::move(url)));
  if (rest.empty() || rest[0] == "help") {
    if (cmd.help || (!rest.empty() && rest[0] == "help")) {
      cmd.help = true;
      cmd.help_text = UsageText();
      return cmd;
    }
    return InvalidArgument("missing command; run 'p402ctl help'");
  }
  const std::string& resource = rest[0];
  bool known = false;
  for (std::string_view r : kResources) {
    known = known || r == resource;
  }
  if (!known) {
    return InvalidArgument("unknown resource '" + resource +
                           "' (tenant, keys, policies, sessions, approvals)");
  }
  if (cmd.help) {
    cmd.help_text = "usage:\n" + ResourceUsage(resource);
    return cmd;
  }
  if (rest.size() < 2) {
    return InvalidArgument("missing verb for '" + resource + "'; usage:\n" +
                           ResourceUsage(resource));
  }
  const std::string& verb = rest[1];
  const VerbSpec* spec = nullptr;
  for (const VerbSpec& v : Verbs()) {
    if (v.resource == resource && v.verb == verb) {
      spec = &v;
    }
  }
  if (spec == nullptr) {
    return InvalidArgument("unknown command '" + resource + " " + verb + "'; usage:\n" +
                           ResourceUsage(resource));
  }
  const std::string name = resource + " " + verb;
  std::vector<std::string> tokens(rest.begin() + 2, rest.end());
  P402_ASSIGN_OR_RETURN(ParsedArgs parsed, ParseOptions(tokens, spec->options, name));
  P402_RETURN_IF_ERROR(ExpectPositionals(parsed, spec->positionals, name));
  absl::Status built;
  if (resource == "tenant") {
    built = BuildTenant(verb, parsed, cmd);
  } else if (resource == "keys") {
    built = BuildKeys(verb, parsed, cmd);
  } else if (resource == "policies") {
    built = BuildPolicies(verb, parsed, cmd);
  } else if (resource == "sessions") {
    built = BuildSessions(verb, parsed, cmd);
  } else {
    built = BuildApprovals(verb, parsed, cmd);
  }
  if (!built.ok()) {
    return built;
  }
  return cmd;
}

}  // namespace p402::ctl
