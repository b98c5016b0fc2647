#include "libs/common/log.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace p402::log {
namespace {

Options& GlobalOptions() {
  static Options options;
  return options;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

void Configure(const Options& options) { GlobalOptions() = options; }

Options OptionsFromEnv(std::string_view service) {
  Options o;
  o.service = std::string(service);
  if (const char* v = std::getenv("P402_LOG_LEVEL")) {
    std::string l = Lower(v);
    if (l == "debug") o.level = Level::kDebug;
    else if (l == "warn" || l == "warning") o.level = Level::kWarn;
    else if (l == "error") o.level = Level::kError;
    else if (l == "off") o.level = Level::kOff;
  }
  if (const char* v = std::getenv("P402_LOG_FORMAT")) {
    o.json = Lower(v) != "text";
  }
  if (const char* v = std::getenv("P402_LOG_REDACT")) {
    o.redact = Lower(v) != "false";
  }
  return o;
}

bool Enabled(Level level) { return level >= GlobalOptions().level && level != Level::kOff; }

bool IsSecretKey(std::string_view key) {
  static constexpr std::string_view kSecretWords[] = {
      "authorization", "api_key", "apikey", "token", "password", "secret",
      "signature",     "payment", "prompt", "content", "cookie"};
  std::string lower = Lower(key);
  if (lower == "key") {
    return true;
  }
  for (std::string_view w : kSecretWords) {
    if (lower.find(w) != std::string::npos) {
      return true;
    }
  }
  return false;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

Line::Line(Level level, std::string_view msg) : active_(Enabled(level)) {
  if (!active_) {
    return;
  }
  const Options& o = GlobalOptions();
  text_.reserve(256);
  if (o.json) {
    text_ += "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" + LevelName(level) + "\",\"svc\":";
    AppendJsonString(text_, o.service);
    text_ += ",\"msg\":";
    AppendJsonString(text_, msg);
  } else {
    text_ += Timestamp() + " " + LevelName(level) + " [" + o.service + "] " + std::string(msg);
  }
}

Line::~Line() {
  if (!active_) {
    return;
  }
  text_ += GlobalOptions().json ? "}\n" : "\n";
  // One write(2) per line keeps lines whole across threads.
  ssize_t ignored = ::write(STDERR_FILENO, text_.data(), text_.size());
  (void)ignored;
}

void Line::Raw(std::string_view key, std::string_view json_value) {
  if (GlobalOptions().json) {
    text_.push_back(',');
    AppendJsonString(text_, key);
    text_.push_back(':');
    text_ += json_value;
  } else {
    text_ += " " + std::string(key) + "=" + std::string(json_value);
  }
}

Line& Line::RequestId(std::string_view id) { return Field("request_id", id); }

Line& Line::Field(std::string_view key, std::string_view value) {
  if (!active_) {
    return *this;
  }
  std::string quoted;
  if (GlobalOptions().redact && IsSecretKey(key)) {
    quoted = "\"[redacted]\"";
  } else {
    AppendJsonString(quoted, value);
  }
  Raw(key, quoted);
  return *this;
}

Line& Line::Field(std::string_view key, int64_t value) {
  if (active_) {
    Raw(key, std::to_string(value));
  }
  return *this;
}

Line& Line::Field(std::string_view key, double value) {
  if (active_) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", value);
    Raw(key, buf);
  }
  return *this;
}

Line& Line::Field(std::string_view key, bool value) {
  if (active_) {
    Raw(key, value ? "true" : "false");
  }
  return *this;
}

}  // namespace p402::log
