// File: libs/config/value_codec.cc
// Text/JSON/display conversions for config values. Parsing is strict (whole input, no silent
// truncation) because a typo in a deployment manifest should stop the service, not half-apply.
#include "libs/config/value_codec.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::config::internal {
namespace {

std::string Quote(std::string_view s) {
  std::string out;
  json::AppendQuoted(out, s.size() > 80 ? s.substr(0, 80) : s);
  if (s.size() > 80) out.insert(out.size() - 1, "...");
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

absl::StatusOr<FieldValue> ParseInt(std::string_view text) {
  std::string_view t = Trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ptr != t.data() + t.size() || ec == std::errc::invalid_argument) {
    return InvalidArgument("expected an integer, got " + Quote(text));
  }
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgument("integer out of range, got " + Quote(text));
  }
  return FieldValue(v);
}

absl::StatusOr<FieldValue> ParseBool(std::string_view text) {
  std::string t = absl::AsciiStrToLower(ToAbsl(Trim(text)));
  if (t == "true" || t == "1" || t == "yes" || t == "on") return FieldValue(true);
  if (t == "false" || t == "0" || t == "no" || t == "off") return FieldValue(false);
  return InvalidArgument("expected a boolean (true/false), got " + Quote(text));
}

absl::StatusOr<FieldValue> ParseDouble(std::string_view text) {
  std::string_view t = Trim(text);
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ptr != t.data() + t.size() || ec != std::errc() || !std::isfinite(v)) {
    return InvalidArgument("expected a number, got " + Quote(text));
  }
  return FieldValue(v);
}

absl::StatusOr<FieldValue> ParseDuration(std::string_view text) {
  std::string_view t = Trim(text);
  bool digits = !t.empty();
  for (char c : t) digits = digits && c >= '0' && c <= '9';
  if (digits) {  // bare integer: milliseconds
    absl::StatusOr<FieldValue> ms = ParseInt(t);
    if (!ms.ok()) return InvalidArgument("duration out of range, got " + Quote(text));
    return FieldValue(std::chrono::milliseconds(std::get<int64_t>(*ms)));
  }
  absl::Duration d;
  if (!absl::ParseDuration(ToAbsl(t), &d) || d == absl::InfiniteDuration() ||
      d == -absl::InfiniteDuration()) {
    return InvalidArgument("expected a duration such as 250ms, 5s, 1m30s, got " + Quote(text));
  }
  if (d < absl::ZeroDuration())
    return InvalidArgument("duration must not be negative, got " + Quote(text));
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (absl::Milliseconds(ms) != d) {
    return InvalidArgument("duration must be a whole number of milliseconds, got " + Quote(text));
  }
  return FieldValue(std::chrono::milliseconds(ms));
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = Trim(text.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

absl::Status JsonTypeError(std::string_view expected, const json::Value& got) {
  std::string shown = got.Serialize();
  if (shown.size() > 80) shown = shown.substr(0, 80) + "...";
  return InvalidArgument("expected " + std::string(expected) + ", got " +
                         std::string(json::TypeName(got.type())) + " " + shown);
}

}  // namespace

absl::StatusOr<FieldValue> ParseText(KeyType type, std::string_view text) {
  switch (type) {
    case KeyType::kString: return FieldValue(std::string(text));
    case KeyType::kInt: return ParseInt(text);
    case KeyType::kBool: return ParseBool(text);
    case KeyType::kDouble: return ParseDouble(text);
    case KeyType::kDuration: return ParseDuration(text);
    case KeyType::kStringList: return FieldValue(SplitList(text));
    case KeyType::kJson: {
      absl::StatusOr<json::Value> v = json::Value::Parse(text);
      if (!v.ok()) return v.status();  // already "invalid JSON: ..."
      return FieldValue(std::in_place_type<json::Value>, *std::move(v));
    }
  }
  return InvalidArgument("unknown key type");
}

absl::StatusOr<FieldValue> FromJson(KeyType type, const json::Value& value) {
  switch (type) {
    case KeyType::kString:
      if (!value.is_string()) return JsonTypeError("a string", value);
      return FieldValue(value.AsString());
    case KeyType::kInt:
      if (value.type() == json::Type::kUint) {
        return InvalidArgument("integer out of range, got " + value.Serialize());
      }
      if (!value.is_integer()) return JsonTypeError("an integer", value);
      if (value.type() == json::Type::kDouble && !(value.AsDouble() >= -9223372036854775808.0 &&
                                                   value.AsDouble() < 9223372036854775808.0)) {
        return InvalidArgument("integer out of range, got " + value.Serialize());
      }
      return FieldValue(value.AsInt());
    case KeyType::kBool:
      if (!value.is_bool()) return JsonTypeError("a boolean", value);
      return FieldValue(value.AsBool());
    case KeyType::kDouble:
      if (!value.is_number()) return JsonTypeError("a number", value);
      return FieldValue(value.AsDouble());
    case KeyType::kDuration:
      if (value.is_string()) return ParseDuration(value.AsString());
      if (value.type() != json::Type::kInt || value.AsInt() < 0) {
        return JsonTypeError("a duration (milliseconds >= 0 or a string such as \"5s\")", value);
      }
      return FieldValue(std::chrono::milliseconds(value.AsInt()));
    case KeyType::kStringList: {
      if (value.is_string()) return FieldValue(SplitList(value.AsString()));
      if (!value.is_array()) return JsonTypeError("an array of strings", value);
      std::vector<std::string> items;
      items.reserve(value.AsArray().size());
      for (const json::Value& item : value.AsArray()) {
        if (!item.is_string()) return JsonTypeError("an array of strings", value);
        items.push_back(item.AsString());
      }
      return FieldValue(std::move(items));
    }
    case KeyType::kJson: return FieldValue(std::in_place_type<json::Value>, value);
  }
  return InvalidArgument("unknown key type");
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

json::Value ToJson(const FieldValue& value) {
  return std::visit(
      [](const auto& v) -> json::Value {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
          return json::Value(FormatDuration(v));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          json::Value list = json::Value::EmptyArray();
          for (const std::string& s : v) list.Push(s);
          return list;
        } else {
          return json::Value(v);
        }
      },
      value);
}

std::string ToDisplay(const FieldValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v.empty() ? "\"\"" : v;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          std::string out;
          json::AppendNumber(out, v);
          return out;
        } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
          return FormatDuration(v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out;
          for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
          return out.empty() ? "\"\"" : out;
        } else {
          return v.Serialize();
        }
      },
      value);
}

}  // namespace p402::config::internal
