// File: libs/config/help.cc
// Renderings of a key table: --help text, the README's Markdown table and the redacted dump of an
// effective config; plus the stock validators.
#include <algorithm>

#include "libs/common/status_util.h"
#include "libs/config/config.h"
#include "libs/config/value_codec.h"

namespace p402::config {
namespace internal {
namespace {

std::string FlagColumn(const KeySpec& key) {
  if (key.secret) return "--" + key.name + " (secret)";
  return "--" + key.name + "=<" + std::string(KeyTypeName(key.type)) + ">";
}

std::string EnvColumn(const KeySpec& key) {
  if (key.env.empty()) return "-";
  return key.env + "[_FILE]";
}

std::string DefaultColumn(const KeySpec& key) {
  std::string shown = ToDisplay(key.default_value);
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  return shown;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string MarkdownEscape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string HelpText(std::string_view program, const std::vector<KeySpec>& keys) {
  std::string out = "Usage: " + std::string(program) + " [--config=FILE.json] [--key=value ...]\n";
  out +=
      "Sources, lowest precedence first: defaults, --config JSON file (keys = flag names),\n"
      "environment, flags. Every env variable X may instead be given as X_FILE=<path>.\n"
      "Secret keys are read only from the environment.\n\n";
  size_t flag_width = 0;
  size_t env_width = 0;
  for (const KeySpec& key : keys) {
    flag_width = std::max(flag_width, FlagColumn(key).size());
    env_width = std::max(env_width, EnvColumn(key).size());
  }
  out += "  " + Pad("FLAG", flag_width) + "  " + Pad("ENV", env_width) + "  DEFAULT\n";
  for (const KeySpec& key : keys) {
    out += "  " + Pad(FlagColumn(key), flag_width) + "  " + Pad(EnvColumn(key), env_width) + "  " +
           DefaultColumn(key) + "\n";
    out += "      " + key.help + "\n";
  }
  return out;
}

std::string MarkdownTable(const std::vector<KeySpec>& keys) {
  std::string out =
      "| Environment | Flag | Type | Default | Description |\n"
      "|---|---|---|---|---|\n";
  for (const KeySpec& key : keys) {
    std::string env = key.env.empty() ? "-" : "`" + key.env + "`";
    std::string flag = key.secret ? "(secret: env only)" : "`--" + key.name + "`";
    out += "| " + env + " | " + flag + " | " + std::string(KeyTypeName(key.type)) + " | `" +
           MarkdownEscape(DefaultColumn(key)) + "` | " + MarkdownEscape(key.help) + " |\n";
  }
  return out;
}

json::Value Redacted(const std::vector<KeySpec>& keys, const void* config) {
  json::Value out = json::Value::EmptyObject();
  for (const KeySpec& key : keys) {
    FieldValue v = key.get(config);
    if (!key.secret) {
      out.Append(key.name, ToJson(v));
      continue;
    }
    // An unset secret shows as "" so "forgot to mount the secret" is visible in the log line.
    bool empty = std::visit(
        [](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string> ||
                        std::is_same_v<T, std::vector<std::string>>) {
            return x.empty();
          } else if constexpr (std::is_same_v<T, json::Value>) {
            return x.is_null();
          } else {
            return false;
          }
        },
        v);
    out.Append(key.name, json::Value(empty ? "" : "[redacted]"));
  }
  return out;
}

}  // namespace internal

Validator<int64_t> InRange(int64_t lo, int64_t hi) {
  return [lo, hi](const int64_t& v) {
    if (v >= lo && v <= hi) return absl::OkStatus();
    return InvalidArgument("must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                           std::to_string(v));
  };
}

Validator<double> InRangeDouble(double lo, double hi) {
  return [lo, hi](const double& v) {
    if (v >= lo && v <= hi) return absl::OkStatus();
    std::string msg = "must be ";
    json::AppendNumber(msg, lo);
    msg += "..";
    json::AppendNumber(msg, hi);
    msg += ", got ";
    json::AppendNumber(msg, v);
    return InvalidArgument(msg);
  };
}

Validator<std::string> NonEmpty() {
  return [](const std::string& v) {
    return v.empty() ? InvalidArgument("must not be empty") : absl::OkStatus();
  };
}

Validator<std::string> OneOf(std::initializer_list<std::string_view> allowed) {
  std::vector<std::string> options(allowed.begin(), allowed.end());
  return [options = std::move(options)](const std::string& v) {
    std::string list;
    for (const std::string& o : options) {
      if (o == v) return absl::OkStatus();
      list += (list.empty() ? "" : "|") + o;
    }
    return InvalidArgument("must be one of " + list + ", got \"" + v + "\"");
  };
}

Validator<std::string> ListenAddress() {
  return [](const std::string& v) {
    size_t colon = v.rfind(':');
    std::string_view port = colon == std::string::npos ? "" : std::string_view(v).substr(colon + 1);
    bool ok = colon != std::string::npos && !port.empty() && port.size() <= 5;
    int64_t p = 0;
    for (char c : port) {
      ok = ok && c >= '0' && c <= '9';
      p = p * 10 + (c - '0');
    }
    if (ok && p <= 65535) return absl::OkStatus();
    return InvalidArgument("must be host:port with port 0..65535, got \"" + v + "\"");
  };
}

Validator<std::chrono::milliseconds> PositiveDuration() {
  return [](const std::chrono::milliseconds& v) {
    if (v.count() > 0) return absl::OkStatus();
    return InvalidArgument("must be > 0, got " + internal::FormatDuration(v));
  };
}

}  // namespace p402::config
