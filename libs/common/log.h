// File: libs/common/log.h
// JSON-lines logger: one object per line on stderr with ts, level, svc, msg, request_id and
// key/value fields. P402_LOG_FORMAT=text gives readable local output. The level is checked before
// any formatting. Values whose key names a secret (authorization, api_key, key, token, password,
// secret, signature, payment, prompt, content) are replaced by "[redacted]" unless redaction is off
// (P402_LOG_REDACT=false, a debug switch).
//
// Usage: P402_LOG(kInfo, "listening").Field("port", 8080);
// Thread-safe: each line is written with one write(2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace p402::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

struct Options {
  std::string service = "p402";
  Level level = Level::kInfo;
  bool json = true;
  bool redact = true;
};

// Sets process-wide options. Call once at startup before threads start.
void Configure(const Options& options);
// Reads P402_LOG_LEVEL (debug|info|warn|error|off), P402_LOG_FORMAT (json|text), P402_LOG_REDACT.
Options OptionsFromEnv(std::string_view service);
bool Enabled(Level level);
// True when `key` names a value that must never be logged in clear.
bool IsSecretKey(std::string_view key);

// One log line, emitted when the object is destroyed.
class Line {
 public:
  Line(Level level, std::string_view msg);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& RequestId(std::string_view id);
  Line& Field(std::string_view key, std::string_view value);
  Line& Field(std::string_view key, const char* value) { return Field(key, std::string_view(value)); }
  Line& Field(std::string_view key, const std::string& value) {
    return Field(key, std::string_view(value));
  }
  Line& Field(std::string_view key, int64_t value);
  Line& Field(std::string_view key, int value) { return Field(key, static_cast<int64_t>(value)); }
  Line& Field(std::string_view key, uint64_t value) { return Field(key, static_cast<int64_t>(value)); }
  Line& Field(std::string_view key, double value);
  Line& Field(std::string_view key, bool value);

 private:
  void Raw(std::string_view key, std::string_view json_value);
  std::string text_;
  bool active_;
};

// Writes `s` as a JSON string literal (with quotes) onto `out`.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace p402::log

#define P402_LOG(level, msg) ::p402::log::Line(::p402::log::Level::level, msg)
