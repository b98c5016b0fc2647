#include "services/edge/core/management_json_fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "libs/common/money.h"
#include "libs/common/status_macros.h"
#include "libs/openai/error_param.h"
#include "services/edge/core/management_json.h"

namespace p402::edge {
namespace mgmt_json {
namespace {

using openai::internal::Cat;
using openai::internal::Describe;
using openai::internal::Quote;
using openai::InvalidRequest;

constexpr std::string_view kDurationExpected =
    "a duration such as \"90s\", \"30m\", \"4h\", \"2d\" or an integer number of seconds";
// Durations above this are refused before any multiplication can overflow.
constexpr int64_t kMaxDurationSeconds = 100LL * 366 * 86'400;

std::string Between(int64_t min, int64_t max) {
  return Cat({"must be between ", std::to_string(min), " and ", std::to_string(max)});
}

// The decimal text of a JSON amount: a string as written, a number through its shortest
// round-trip form (the text the client wrote whenever it had at most 15 significant digits).
absl::StatusOr<std::string> DecimalText(const json::Value& v, std::string_view param) {
  switch (v.type()) {
    case json::Type::kString:
      return v.AsString();
    case json::Type::kInt:
      return std::to_string(v.AsInt());
    case json::Type::kUint:
      return BadValue(param, "is too large.");
    case json::Type::kDouble: {
      double d = v.AsDouble();
      if (d == 0) {
        return std::string("0");  // also -0.0, whose shortest text "-0" would read as negative
      }
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof(buf), d);
      return std::string(buf, static_cast<size_t>(res.ptr - buf));
    }
    default:
      return WrongType(param, "a decimal string such as \"12.50\" or a number", v);
  }
}

// `units` of 10^-decimals as a decimal: (1000, 4) -> "0.1".
std::string ScaledText(int64_t units, int decimals) {
  int64_t scale = 1;
  for (int i = decimals; i < 6; ++i) scale *= 10;
  std::string s = FormatUsd(units * scale);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// Parses an unsigned plain decimal ("12.50", no sign, no exponent) with at most `decimals`
// significant decimals into units of 10^-decimals.
absl::StatusOr<int64_t> ParseDecimal(std::string_view text, std::string_view param, int decimals,
                                     int64_t max_units) {
  if (!text.empty() && text[0] == '-') {
    return BadValue(param, Cat({"must be >= 0, but got ", Quote(text), "."}));
  }
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || !digits(whole) || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return BadValue(param, Cat({Quote(text), " is not a plain decimal number such as \"12.50\"."}));
  }
  size_t significant = frac.find_last_not_of('0');
  if (significant != std::string_view::npos && significant >= static_cast<size_t>(decimals)) {
    return BadValue(param, Cat({"at most ", std::to_string(decimals),
                                " decimal places are allowed, but got ", Quote(text), "."}));
  }
  std::optional<MicroUsd> micros = ParseUsd(text);  // exact: at most 6 significant decimals
  int64_t scale = 1;
  for (int i = decimals; i < 6; ++i) scale *= 10;
  if (!micros || *micros / scale > max_units) {
    return BadValue(param, Cat({"must be at most ", ScaledText(max_units, decimals), ", but got ",
                                Quote(text), "."}));
  }
  return *micros / scale;
}

}  // namespace

absl::Status Missing(std::string_view param) {
  return InvalidRequest(Cat({"Missing required parameter: '", param, "'."}), param,
                        "missing_required_parameter");
}

absl::Status WrongType(std::string_view param, std::string_view expected, const json::Value& got) {
  std::string what = param.empty() ? "the request body" : Cat({"'", param, "'"});
  return InvalidRequest(Cat({"Invalid type for ", what, ": expected ", expected, ", but got ",
                             Describe(got), " instead."}),
                        param, "invalid_type");
}

absl::StatusOr<json::Value> ParseBodyObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return json::Value::EmptyObject();
  }
  absl::StatusOr<json::Value> parsed = json::Value::Parse(body);
  if (!parsed.ok()) {
    return InvalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The API expects a JSON payload, but what was sent was "
        "not valid JSON.)",
        "", "invalid_json");
  }
  if (!parsed->is_object()) {
    return WrongType("", "a JSON object", *parsed);
  }
  return parsed;
}

absl::StatusOr<Fields> Fields::Open(const json::Value& value, std::string_view param,
                                    std::initializer_list<std::string_view> allowed) {
  if (!value.is_object()) {
    return WrongType(param, "an object", value);
  }
  for (const auto& [key, member] : value.AsObject()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return UnknownParam(Field(param, key));
    }
  }
  return Fields(value, param);
}

const json::Value* Fields::Get(std::string_view key) const {
  const json::Value* member = object_->Find(key);
  return member != nullptr && !member->is_null() ? member : nullptr;
}

absl::StatusOr<const json::Value*> Fields::Require(std::string_view key) const {
  const json::Value* member = Get(key);
  if (member == nullptr) {
    return Missing(Param(key));
  }
  return member;
}

absl::StatusOr<std::string> ReadString(const json::Value& v, std::string_view param,
                                       size_t max_bytes, bool allow_empty) {
  if (!v.is_string()) {
    return WrongType(param, "a string", v);
  }
  const std::string& s = v.AsString();
  if (s.empty() && !allow_empty) {
    return BadValue(param, "must not be empty.");
  }
  if (s.size() > max_bytes) {
    return BadValue(param, Cat({"must be at most ", std::to_string(max_bytes),
                                " bytes long, but got ", std::to_string(s.size()), " bytes."}));
  }
  return s;
}

absl::StatusOr<bool> ReadBool(const json::Value& v, std::string_view param) {
  if (!v.is_bool()) {
    return WrongType(param, "a boolean", v);
  }
  return v.AsBool();
}

absl::StatusOr<int64_t> ReadInt(const json::Value& v, std::string_view param, int64_t min,
                                int64_t max) {
  if (!v.is_number() || !v.is_integer()) {
    return WrongType(param, "an integer", v);
  }
  // AsInt() requires the value to fit int64; check huge values as doubles first.
  if (v.type() != json::Type::kInt && std::fabs(v.AsDouble()) >= 9.2e18) {
    return BadValue(param, Cat({Between(min, max), "."}));
  }
  int64_t i = v.AsInt();
  if (i < min || i > max) {
    return BadValue(param, Cat({Between(min, max), ", but got ", std::to_string(i), "."}));
  }
  return i;
}

absl::StatusOr<std::vector<std::string>> ReadStrings(const json::Value& v, std::string_view param,
                                                     size_t max_items, size_t max_bytes) {
  if (!v.is_array()) {
    return WrongType(param, "an array of strings", v);
  }
  const json::Array& items = v.AsArray();
  if (items.size() > max_items) {
    return BadValue(param, Cat({"at most ", std::to_string(max_items), " items are allowed."}));
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    P402_ASSIGN_OR_RETURN(std::string s, ReadString(items[i], Index(param, i), max_bytes));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<int64_t> ReadScaled(const json::Value& v, std::string_view param, int decimals,
                                   int64_t max_units) {
  P402_ASSIGN_OR_RETURN(std::string text, DecimalText(v, param));
  return ParseDecimal(text, param, decimals, max_units);
}

absl::StatusOr<int64_t> ReadDurationIn(const json::Value& v, std::string_view param, int64_t min_ms,
                                       int64_t max_ms) {
  P402_ASSIGN_OR_RETURN(int64_t ms, ParseDurationJson(v, param));
  if (ms < min_ms || ms > max_ms) {
    return BadValue(param, Cat({"must be between ", FormatDuration(min_ms), " and ",
                                FormatDuration(max_ms), ", but got ", FormatDuration(ms), "."}));
  }
  return ms;
}

absl::StatusOr<int64_t> ReadQueryInt(std::string_view text, std::string_view param, int64_t min,
                                     int64_t max) {
  int64_t n = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || text[0] == '-' || res.ec != std::errc() ||
      res.ptr != text.data() + text.size()) {
    return BadValue(param, Cat({Quote(text), " is not an integer ", Between(min, max), "."}));
  }
  if (n < min || n > max) {
    return BadValue(param, Cat({Between(min, max), ", but got ", std::to_string(n), "."}));
  }
  return n;
}

}  // namespace mgmt_json

absl::StatusOr<MicroUsd> ParseUsdJson(const json::Value& value, std::string_view param) {
  P402_ASSIGN_OR_RETURN(std::string text, mgmt_json::DecimalText(value, param));
  return mgmt_json::ParseDecimal(text, param, 6, std::numeric_limits<MicroUsd>::max());
}

absl::StatusOr<int64_t> ParseDurationJson(const json::Value& value, std::string_view param) {
  using mgmt_json::BadValue;
  int64_t seconds = 0;
  if (value.is_number()) {
    if (!value.is_integer()) {
      return mgmt_json::WrongType(param, mgmt_json::kDurationExpected, value);
    }
    double d = value.AsDouble();
    if (d <= 0) {
      return BadValue(param, "must be > 0.");
    }
    if (d > static_cast<double>(mgmt_json::kMaxDurationSeconds)) {
      return BadValue(param, "is too long.");
    }
    seconds = value.AsInt();
  } else if (value.is_string()) {
    std::string_view s = value.AsString();
    size_t digits = s.find_first_not_of("0123456789");
    if (digits == std::string_view::npos) digits = s.size();
    std::string_view unit = s.substr(digits);
    int64_t multiplier = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                         : unit == "d"               ? 86'400
                                                     : 0;
    if (digits == 0 || digits > 12 || multiplier == 0) {
      return BadValue(param, mgmt_json::Cat({mgmt_json::Quote(s), " is not ",
                                             mgmt_json::kDurationExpected, "."}));
    }
    std::from_chars(s.data(), s.data() + digits, seconds);
    if (seconds == 0) {
      return BadValue(param, "must be > 0.");
    }
    if (seconds > mgmt_json::kMaxDurationSeconds / multiplier) {
      return BadValue(param, "is too long.");
    }
    seconds *= multiplier;
  } else {
    return mgmt_json::WrongType(param, mgmt_json::kDurationExpected, value);
  }
  return seconds * 1000;
}

std::string FormatDuration(int64_t ms) {
  int64_t s = ms / 1000;
  if (s <= 0) {
    return "0s";
  }
  if (s % 86'400 == 0) return std::to_string(s / 86'400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace p402::edge
