// Rendering of management API answers for people (see ctl_commands.h). Pure.
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "libs/common/status_util.h"
#include "tools/p402ctl/ctl_commands.h"
#include "tools/p402ctl/table.h"

namespace p402::ctl {
namespace {

enum class Format { kText, kUsd, kTime, kJson };

struct ColumnSpec {
  std::string_view header;
  std::string_view key;
  Format format = Format::kText;
  Align align = Align::kLeft;
};

// The columns of each list: what an operator scans for, not every field (use `get` or --json).
const std::vector<ColumnSpec>& ColumnsFor(View view) {
  static const std::vector<ColumnSpec> kKeys = {
      {"ID", "id"},       {"NAME", "name"},       {"PREFIX", "prefix"},
      {"ADMIN", "admin"}, {"REVOKED", "revoked"}, {"CREATED", "created_at", Format::kTime}};
  static const std::vector<ColumnSpec> kPolicies = {
      {"ID", "id"},           {"TYPE", "type"},
      {"NAME", "name"},       {"PRIORITY", "priority", Format::kText, Align::kRight},
      {"ENABLED", "enabled"}, {"CONFIG", "config", Format::kJson}};
  static const std::vector<ColumnSpec> kSessions = {
      {"ID", "id"},
      {"AGENT", "agent_id"},
      {"STATUS", "status"},
      {"BUDGET", "budget_usd", Format::kUsd, Align::kRight},
      {"SPENT", "spent_usd", Format::kUsd, Align::kRight},
      {"REMAINING", "remaining_usd", Format::kUsd, Align::kRight},
      {"EXPIRES", "expires_at", Format::kTime}};
  static const std::vector<ColumnSpec> kApprovals = {
      {"ID", "id"},         {"SESSION", "session_id"},
      {"STATUS", "status"}, {"AMOUNT", "amount_usd", Format::kUsd, Align::kRight},
      {"MODEL", "model"},   {"EXPIRES", "expires_at", Format::kTime}};
  switch (view) {
    case View::kKeyList:
      return kKeys;
    case View::kPolicyList:
      return kPolicies;
    case View::kSessionList:
      return kSessions;
    default:
      return kApprovals;
  }
}

bool IsList(View view) {
  return view == View::kKeyList || view == View::kPolicyList || view == View::kSessionList ||
         view == View::kApprovalList;
}

std::string_view Noun(View view) {
  switch (view) {
    case View::kKeyList:
      return "keys";
    case View::kPolicyList:
      return "policies";
    case View::kSessionList:
      return "sessions";
    default:
      return "approvals";
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A scalar (or a list of scalars) as plain text; "-" for null and empty containers.
std::string Plain(const json::Value& v) {
  switch (v.type()) {
    case json::Type::kNull:
      return "-";
    case json::Type::kString:
      return v.AsString();
    case json::Type::kArray: {
      std::string out;
      for (const json::Value& item : v.AsArray()) {
        if (!out.empty()) {
          out += ", ";
        }
        out += item.is_string() ? item.AsString() : item.Serialize();
      }
      return out.empty() ? "-" : out;
    }
    case json::Type::kObject:
      return v.AsObject().empty() ? "-" : v.Serialize();
    default:
      return v.Serialize();
  }
}

std::string Formatted(const json::Value* v, Format format) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  if (format == Format::kUsd && v->is_string()) {
    return ShortUsd(v->AsString());
  }
  if (format == Format::kTime && v->is_integer()) {
    return FormatUnixSeconds(v->AsInt());
  }
  if (format == Format::kJson) {
    return Truncate(v->Serialize(), 60);
  }
  return Plain(*v);
}

// Flattens an object into "key value" rows ("limits.daily_limit_usd"); pulls out the one-time
// secrets ("secret" of a new key, "token" of a new session).
void Flatten(const json::Value& object, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& rows,
             std::vector<std::pair<std::string, std::string>>& secrets) {
  for (const auto& [key, value] : object.AsObject()) {
    if (prefix.empty() && key == "object") {
      continue;
    }
    if (prefix.empty() && (key == "secret" || key == "token") && value.is_string()) {
      secrets.emplace_back(key, value.AsString());
      continue;
    }
    const std::string name = prefix + key;
    if (value.is_object() && !value.AsObject().empty() && prefix.empty()) {
      Flatten(value, name + ".", rows, secrets);
      continue;
    }
    // Amounts: "*_usd" members and the members of a "*_usd" map (provider_budgets_usd.x).
    const bool usd = EndsWith(key, "_usd") || EndsWith(prefix, "_usd.");
    const Format format = EndsWith(key, "_at") ? Format::kTime : usd ? Format::kUsd : Format::kText;
    rows.emplace_back(name, Formatted(&value, format));
  }
}

absl::StatusOr<Rendered> RenderList(View view, const json::Value& root) {
  const json::Value* data = root.Find("data");
  if (data == nullptr || !data->is_array()) {
    return InvalidArgument("unexpected answer: no \"data\" list");
  }
  Rendered r;
  if (data->AsArray().empty()) {
    r.out = "no " + std::string(Noun(view)) + "\n";
  } else {
    const std::vector<ColumnSpec>& specs = ColumnsFor(view);
    std::vector<Column> columns;
    for (const ColumnSpec& s : specs) {
      columns.push_back({std::string(s.header), s.align});
    }
    Table table(std::move(columns));
    for (const json::Value& item : data->AsArray()) {
      std::vector<std::string> cells;
      for (const ColumnSpec& s : specs) {
        cells.push_back(Formatted(item.Find(s.key), s.format));
      }
      table.AddRow(std::move(cells));
    }
    r.out = table.Render();
  }
  if (root.GetBool("has_more").value_or(false)) {
    auto cursor = root.GetString("next_cursor");
    r.out += "more: p402ctl " + std::string(Noun(view)) + " list --after " +
             Sanitize(cursor ? std::string(*cursor) : "?") + "\n";
  }
  return r;
}

}  // namespace

std::string ShortUsd(std::string_view usd) {
  const size_t dot = usd.find('.');
  if (dot == std::string_view::npos || dot == 0 ||
      usd.find_first_not_of("0123456789.") != std::string_view::npos) {
    return std::string(usd);
  }
  std::string out(usd);
  while (out.size() > dot + 3 && out.back() == '0') {
    out.pop_back();
  }
  return out;
}

std::string FormatUnixSeconds(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return std::to_string(seconds);
  }
  return buf;
}

absl::StatusOr<Rendered> RenderSuccess(View view, std::string_view body) {
  auto root = json::Value::Parse(body);
  if (!root.ok() || !root->is_object()) {
    return InvalidArgument("unexpected answer (not a JSON object)");
  }
  if (IsList(view)) {
    return RenderList(view, *root);
  }
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<std::pair<std::string, std::string>> secrets;
  Flatten(*root, "", rows, secrets);
  Rendered r;
  for (auto& secret : secrets) {
    rows.push_back(secret);
    r.err += "warning: the " + secret.first +
             " above is shown only this once; store it now, it cannot be retrieved later\n";
  }
  r.out = RenderKeyValues(rows);
  return r;
}

std::string RenderError(int http_status, std::string_view body) {
  const std::string status = "HTTP " + std::to_string(http_status);
  auto root = json::Value::Parse(body);
  const json::Value* error = root.ok() ? root->Find("error") : nullptr;
  if (error == nullptr || !error->is_object()) {
    std::string text = Sanitize(body);
    return "error: " + status + (text.empty() ? " (empty body)" : ": " + Truncate(text, 200)) +
           "\n";
  }
  std::string details = status;
  if (auto code = error->GetString("code")) {
    details += ", code " + std::string(*code);
  }
  if (auto param = error->GetString("param")) {
    details += ", param " + std::string(*param);
  }
  auto message = error->GetString("message");
  return "error: " + Sanitize(message ? *message : "(no message)") + " (" + Sanitize(details) +
         ")\n";
}

}  // namespace p402::ctl
