#include "tools/p402ctl/ctl_args.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "libs/common/status_util.h"

namespace p402::ctl {
namespace {

bool IsDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::optional<std::string> ParsedArgs::Get(std::string_view name) const {
  auto it = flags.find(std::string(name));
  if (it == flags.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(std::string_view name) const {
  auto it = flags.find(std::string(name));
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedArgs> ParseOptions(const std::vector<std::string>& tokens,
                                        const std::vector<OptionSpec>& specs,
                                        std::string_view command) {
  ParsedArgs out;
  bool only_positionals = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (!only_positionals && t == "--") {
      only_positionals = true;
      continue;
    }
    if (only_positionals || t.size() < 3 || t.rfind("--", 0) != 0) {
      out.positionals.push_back(t);
      continue;
    }
    const size_t eq = t.find('=');
    const std::string name = t.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : specs) {
      if (s.name == name) {
        spec = &s;
      }
    }
    if (spec == nullptr) {
      return InvalidArgument("unknown option --" + name + " for '" + std::string(command) + "'");
    }
    std::string value;
    if (spec->takes_value) {
      if (eq != std::string::npos) {
        value = t.substr(eq + 1);
      } else if (i + 1 < tokens.size()) {
        value = tokens[++i];
      } else {
        return InvalidArgument("--" + name + " needs a value");
      }
    } else if (eq != std::string::npos) {
      return InvalidArgument("--" + name + " takes no value");
    }
    if (out.Has(name) && !spec->repeatable) {
      return InvalidArgument("--" + name + " given twice");
    }
    out.flags[name].push_back(std::move(value));
  }
  return out;
}

absl::Status ExpectPositionals(const ParsedArgs& args, const std::vector<std::string_view>& names,
                               std::string_view command) {
  if (args.positionals.size() == names.size()) {
    return absl::OkStatus();
  }
  if (args.positionals.size() > names.size()) {
    return InvalidArgument("unexpected argument " + Quoted(args.positionals[names.size()]) +
                           " for '" + std::string(command) + "'");
  }
  std::string want;
  for (std::string_view n : names) {
    want += " " + std::string(n);
  }
  return InvalidArgument("'" + std::string(command) + "' needs" + want);
}

absl::StatusOr<std::string> CheckId(std::string_view what, std::string_view id) {
  constexpr std::string_view kIdChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.";
  if (id.empty() || id.size() > 128 || id.find_first_not_of(kIdChars) != std::string_view::npos ||
      id == "." || id == "..") {
    return InvalidArgument(std::string(what) + ": not a valid id: " + Quoted(id));
  }
  return std::string(id);
}

absl::StatusOr<std::string> CheckUsd(std::string_view what, std::string_view usd) {
  const size_t dot = usd.find('.');
  const std::string_view whole = usd.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : usd.substr(dot + 1);
  bool ok = IsDigits(whole) && (dot == std::string_view::npos || IsDigits(frac));
  if (ok && frac.size() > 6) {
    ok = frac.substr(6).find_first_not_of('0') == std::string_view::npos;
  }
  if (!ok) {
    return InvalidArgument(std::string(what) + ": not a USD amount: " + Quoted(usd) +
                           " (use e.g. 12.50; at most 6 decimals)");
  }
  return std::string(usd);
}

absl::StatusOr<std::string> CheckDuration(std::string_view what, std::string_view duration) {
  std::string_view digits = duration;
  if (!duration.empty() &&
      std::string_view("smhd").find(duration.back()) != std::string_view::npos) {
    digits.remove_suffix(1);
  }
  // 9 digits of days is far beyond any session; the bound keeps DurationSeconds exact.
  if (!IsDigits(digits) || digits.size() > 9 ||
      digits.find_first_not_of('0') == std::string_view::npos) {
    return InvalidArgument(std::string(what) + ": not a duration: " + Quoted(duration) +
                           " (use e.g. 90s, 30m, 4h, 2d)");
  }
  return std::string(duration);
}

int64_t DurationSeconds(std::string_view checked_duration) {
  int64_t unit = 1;
  std::string_view digits = checked_duration;
  switch (checked_duration.back()) {
    case 's':
      digits.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      digits.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      digits.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      digits.remove_suffix(1);
      break;
    default:
      break;
  }
  int64_t n = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return n * unit;
}

absl::StatusOr<int64_t> CheckInt(std::string_view what, std::string_view s, int64_t min,
                                 int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    return InvalidArgument(std::string(what) + ": expected an integer in " + std::to_string(min) +
                           ".." + std::to_string(max) + ", got " + Quoted(s));
  }
  return v;
}

absl::StatusOr<double> CheckNumber(std::string_view what, std::string_view s, double min,
                                   double max) {
  const std::string text(s);
  char* end = nullptr;
  const double v = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < min ||
      v > max) {
    return InvalidArgument(std::string(what) + ": expected a number in " +
                           json::Value(min).Serialize() + ".." + json::Value(max).Serialize() +
                           ", got " + Quoted(s));
  }
  return v;
}

absl::StatusOr<std::string> CheckChoice(std::string_view what, std::string_view s,
                                        std::initializer_list<std::string_view> choices) {
  std::string list;
  for (std::string_view c : choices) {
    if (s == c) {
      return std::string(s);
    }
    list += (list.empty() ? "" : "|") + std::string(c);
  }
  return InvalidArgument(std::string(what) + ": expected " + list + ", got " + Quoted(s));
}

absl::Status SetUsdOption(const ParsedArgs& args, std::string_view flag, json::Value& body,
                          std::string_view key) {
  if (auto v = args.Get(flag)) {
    auto usd = CheckUsd("--" + std::string(flag), *v);
    if (!usd.ok()) {
      return usd.status();
    }
    body.Set(key, json::Value(*usd));
  }
  return absl::OkStatus();
}

json::Value CommaList(std::string_view s) {
  json::Value out = json::Value::EmptyArray();
  while (true) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      out.Push(json::Value(item));
    }
    if (comma == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(comma + 1);
  }
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace p402::ctl
