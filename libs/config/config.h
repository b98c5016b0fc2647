// File: libs/config/config.h
// The layered config loader of house style 3.8. A service declares one key table (a Schema bound
// to its plain `struct <Svc>Config`) and loads it from, lowest precedence first:
//   1. compiled defaults, 2. an optional JSON file (--config=path), 3. environment variables,
//   4. --key=value flags.
// Secret keys come only from the environment (VAR or VAR_FILE), never from the file or flags.
//
//   struct RouterConfig { std::string grpc_listen; int http_port = 0; std::string admin_token;
//                         std::chrono::milliseconds timeout{}; json::Value providers; };
//   const config::Schema<RouterConfig>& RouterConfigSchema() {
//     static const auto* const schema = [] {
//       auto* s = new config::Schema<RouterConfig>("p402-router");
//       s->String("grpc_listen", "P402_ROUTER_GRPC_LISTEN", &RouterConfig::grpc_listen,
//                 "0.0.0.0:50051", "gRPC listen address").Validate(config::ListenAddress());
//       s->Int("http_port", "P402_ROUTER_HTTP_PORT", &RouterConfig::http_port, 8080, "HTTP port")
//           .Validate(config::InRange(0, 65535));
//       s->String("admin_token", "P402_ADMIN_TOKEN", &RouterConfig::admin_token, "",
//                 "Admin bearer token").Secret();
//       s->Json("providers", "", &RouterConfig::providers, json::Value::EmptyObject(),
//               "Provider table (structured; JSON file)");
//       return s;
//     }();
//     return *schema;
//   }
//   ...in main:
//   auto loaded = RouterConfigSchema().LoadFromProcess(argc, argv);
//   if (!loaded.ok()) { print loaded.status(); return 2; }
//   if (loaded->help_requested) { print RouterConfigSchema().HelpText(); return 0; }
//   for (const auto& w : loaded->warnings) log warning w;
//   log info RouterConfigSchema().RedactedDump(loaded->config);
//
// Thread-safety: build a Schema once (single thread), then every const method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/json/value.h"

namespace p402::config {

// Key value types. Text forms (env, flags):
//   kString: verbatim. kInt: decimal integer. kBool: true/false/1/0/yes/no/on/off.
//   kDouble: finite decimal number. kDuration: "250" (ms), "250ms", "5s", "1m30s", "1h".
//   kStringList: comma-separated, items trimmed, empty items dropped. kJson: a JSON document.
// JSON file forms: string; integer; boolean; number; integer ms or a duration string; array of
// strings (or a comma-separated string); any JSON value. A null in the file means "not set".
enum class KeyType { kString, kInt, kBool, kDouble, kDuration, kStringList, kJson };
std::string_view KeyTypeName(KeyType type);

// One typed value; the alternative index equals the KeyType.
using FieldValue = std::variant<std::string, int64_t, bool, double, std::chrono::milliseconds,
                                std::vector<std::string>, json::Value>;

// Where a key's effective value came from.
enum class Source { kDefault, kFile, kEnv, kFlag };
std::string_view SourceName(Source source);  // "default", "file", "env", "flag"

// Validators return OK or a status whose message completes "--key: <message>", e.g.
// "must be 0..65535, got 70000". The loader adds the key name and where the value came from.
template <typename T>
using Validator = std::function<absl::Status(const T&)>;

Validator<int64_t> InRange(int64_t lo, int64_t hi);     // "must be lo..hi, got v"
Validator<double> InRangeDouble(double lo, double hi);  // "must be lo..hi, got v"
Validator<std::string> NonEmpty();                      // "must not be empty"
Validator<std::string> OneOf(std::initializer_list<std::string_view> allowed);
Validator<std::string> ListenAddress();                   // "host:port", port 0..65535
Validator<std::chrono::milliseconds> PositiveDuration();  // "must be > 0"

// Inputs of one load. Tests fill these directly; LoadFromProcess uses argv and environ.
struct LoadOptions {
  std::vector<std::string> args;           // argv[1..]
  std::map<std::string, std::string> env;  // the whole environment
};
// The current process environment as a map.
std::map<std::string, std::string> ProcessEnv();

template <typename Config>
struct Loaded {
  Config config{};
  // True when --help/-h was given; nothing else was loaded: print HelpText() and exit 0.
  bool help_requested = false;
  // Unknown P402_* environment variables (with a "did you mean" hint when one is close).
  std::vector<std::string> warnings;
  // The --config path ("" when none) and the parsed file (null when none), for services that read
  // structured data beyond the declared keys' values.
  std::string config_path;
  json::Value file;
  // Flag name -> where its effective value came from.
  std::map<std::string, Source> sources;
};

namespace internal {

// Type-erased key; Schema<Config> fills these, the loader in config.cc consumes them.
struct KeySpec {
  std::string name;  // flag name and JSON file key
  std::string env;   // "" when the key has no environment variable
  std::string help;
  KeyType type = KeyType::kString;
  bool secret = false;
  FieldValue default_value;
  std::vector<std::function<absl::Status(const FieldValue&)>> validators;
  std::function<void(void* config, const FieldValue& v)> set;
  std::function<FieldValue(const void* config)> get;
};

struct LoadResult {
  bool help_requested = false;
  std::vector<std::string> warnings;
  std::string config_path;
  json::Value file;
  std::map<std::string, Source> sources;
};

// Loads every key into *config (through KeySpec::set) and runs `checks` on the whole config.
// Errors: InvalidArgument listing every problem found, separated by "; ".
absl::StatusOr<LoadResult> Load(const std::vector<KeySpec>& keys,
                                const std::vector<std::function<absl::Status(const void*)>>& checks,
                                const std::vector<std::string>& ignored_env_prefixes,
                                const LoadOptions& options, void* config);
std::string HelpText(std::string_view program, const std::vector<KeySpec>& keys);
std::string MarkdownTable(const std::vector<KeySpec>& keys);
json::Value Redacted(const std::vector<KeySpec>& keys, const void* config);
// Aborts (programmer error) on a bad or duplicate flag/env name.
void CheckNewKey(const std::vector<KeySpec>& keys, const KeySpec& key);

}  // namespace internal

// Returned by the Schema declaration methods to add options to the key just declared.
template <typename Config, typename T>
class KeyRef {
 public:
  KeyRef(std::vector<internal::KeySpec>* keys, size_t index) : keys_(keys), index_(index) {}
  // Secret: only from env VAR or VAR_FILE; an error in the JSON file or as a flag; redacted in
  // RedactedDump. Requires an env name.
  KeyRef& Secret();
  // Adds a validator run on the effective value (defaults included). Several may be added.
  KeyRef& Validate(Validator<T> validator);

 private:
  std::vector<internal::KeySpec>* keys_;
  size_t index_;
};

template <typename Config>
class Schema {
 public:
  // `program` is shown in the --help usage line.
  explicit Schema(std::string program) : program_(std::move(program)) {}

  // Key declarations. `flag` is the flag name and JSON file key ([a-z0-9_]+); `env` is the
  // environment variable ("" for none). Each binds a member of Config.
  KeyRef<Config, std::string> String(std::string flag, std::string env, std::string Config::*member,
                                     std::string default_value, std::string help);
  // Any integral member type; values that do not fit the member's type are rejected.
  template <typename M>
  requires(std::is_integral_v<M> &&
           !std::is_same_v<M, bool>) KeyRef<Config, int64_t> Int(std::string flag, std::string env,
                                                                 M Config::*member,
                                                                 int64_t default_value,
                                                                 std::string help);
  KeyRef<Config, bool> Bool(std::string flag, std::string env, bool Config::*member,
                            bool default_value, std::string help);
  KeyRef<Config, double> Double(std::string flag, std::string env, double Config::*member,
                                double default_value, std::string help);
  KeyRef<Config, std::chrono::milliseconds> Duration(std::string flag, std::string env,
                                                     std::chrono::milliseconds Config::*member,
                                                     std::chrono::milliseconds default_value,
                                                     std::string help);
  KeyRef<Config, std::vector<std::string>> StringList(std::string flag, std::string env,
                                                      std::vector<std::string> Config::*member,
                                                      std::vector<std::string> default_value,
                                                      std::string help);
  // Structured data: any JSON value from the file, or a JSON document from env/flag.
  KeyRef<Config, json::Value> Json(std::string flag, std::string env, json::Value Config::*member,
                                   json::Value default_value, std::string help);

  // A whole-config check run after every key is set (cross-field rules). Its message is reported
  // as is, so name the keys in it.
  void Check(std::function<absl::Status(const Config&)> check);
  // P402_* variables starting with `prefix` are not reported as unknown (e.g. another service's
  // prefix in the all-in-one dev launcher).
  void IgnoreEnvPrefix(std::string prefix) { ignored_env_prefixes_.push_back(std::move(prefix)); }

  // Loads the config. Errors: InvalidArgument naming every problem (unknown file keys, unknown
  // flags, secrets outside the environment, type errors, unreadable files, failed validation).
  absl::StatusOr<Loaded<Config>> Load(const LoadOptions& options) const;
  absl::StatusOr<Loaded<Config>> LoadFromProcess(int argc, char** argv) const;

  // The --help text: usage line and one row per key (flag, env, default, help).
  std::string HelpText() const { return internal::HelpText(program_, keys_); }
  // A Markdown table of the keys (env, flag, type, default, help) for the README.
  std::string MarkdownTable() const { return internal::MarkdownTable(keys_); }
  // The effective config as one compact JSON object, secrets shown as "[redacted]" (an empty
  // secret shows as "" so "unset" stays visible). For the single startup log line.
  std::string RedactedDump(const Config& config) const {
    return internal::Redacted(keys_, &config).Serialize();
  }
  json::Value RedactedValue(const Config& config) const {
    return internal::Redacted(keys_, &config);
  }

  const std::vector<internal::KeySpec>& keys() const { return keys_; }

 private:
  template <typename T, typename M>
  KeyRef<Config, T> Add(std::string flag, std::string env, KeyType type, M Config::*member,
                        T default_value, std::string help);

  std::string program_;
  std::vector<internal::KeySpec> keys_;
  std::vector<std::function<absl::Status(const void*)>> checks_;
  std::vector<std::string> ignored_env_prefixes_;
};

// ---- Implementation details below ----

template <typename Config, typename T>
KeyRef<Config, T>& KeyRef<Config, T>::Secret() {
  (*keys_)[index_].secret = true;
  internal::CheckNewKey({}, (*keys_)[index_]);  // re-checks: a secret needs an env name
  return *this;
}

template <typename Config, typename T>
KeyRef<Config, T>& KeyRef<Config, T>::Validate(Validator<T> validator) {
  (*keys_)[index_].validators.push_back([validator = std::move(validator)](const FieldValue& v) {
    return validator(std::get<T>(v));
  });
  return *this;
}

template <typename Config>
template <typename T, typename M>
KeyRef<Config, T> Schema<Config>::Add(std::string flag, std::string env, KeyType type,
                                      M Config::*member, T default_value, std::string help) {
  internal::KeySpec key;
  key.name = std::move(flag);
  key.env = std::move(env);
  key.help = std::move(help);
  key.type = type;
  key.default_value = FieldValue(std::in_place_type<T>, std::move(default_value));
  if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) {
    // Range of the member's own type, checked before user validators.
    key.validators.push_back([](const FieldValue& v) -> absl::Status {
      int64_t i = std::get<int64_t>(v);
      if (std::in_range<M>(i)) return absl::OkStatus();
      return absl::InvalidArgumentError("must be " + std::to_string(std::numeric_limits<M>::min()) +
                                        ".." + std::to_string(std::numeric_limits<M>::max()) +
                                        ", got " + std::to_string(i));
    });
    key.set = [member](void* c, const FieldValue& v) {
      static_cast<Config*>(c)->*member = static_cast<M>(std::get<int64_t>(v));
    };
    key.get = [member](const void* c) {
      return FieldValue(static_cast<int64_t>(static_cast<const Config*>(c)->*member));
    };
  } else {
    key.set = [member](void* c, const FieldValue& v) {
      static_cast<Config*>(c)->*member = std::get<T>(v);
    };
    key.get = [member](const void* c) {
      return FieldValue(std::in_place_type<T>, static_cast<const Config*>(c)->*member);
    };
  }
  internal::CheckNewKey(keys_, key);
  keys_.push_back(std::move(key));
  return KeyRef<Config, T>(&keys_, keys_.size() - 1);
}

template <typename Config>
KeyRef<Config, std::string> Schema<Config>::String(std::string flag, std::string env,
                                                   std::string Config::*member,
                                                   std::string default_value, std::string help) {
  return Add<std::string>(std::move(flag), std::move(env), KeyType::kString, member,
                          std::move(default_value), std::move(help));
}

template <typename Config>
template <typename M>
requires(std::is_integral_v<M> && !std::is_same_v<M, bool>)
    KeyRef<Config, int64_t> Schema<Config>::Int(std::string flag, std::string env,
                                                M Config::*member, int64_t default_value,
                                                std::string help) {
  return Add<int64_t>(std::move(flag), std::move(env), KeyType::kInt, member, default_value,
                      std::move(help));
}

template <typename Config>
KeyRef<Config, bool> Schema<Config>::Bool(std::string flag, std::string env, bool Config::*member,
                                          bool default_value, std::string help) {
  return Add<bool>(std::move(flag), std::move(env), KeyType::kBool, member, default_value,
                   std::move(help));
}

template <typename Config>
KeyRef<Config, double> Schema<Config>::Double(std::string flag, std::string env,
                                              double Config::*member, double default_value,
                                              std::string help) {
  return Add<double>(std::move(flag), std::move(env), KeyType::kDouble, member, default_value,
                     std::move(help));
}

template <typename Config>
KeyRef<Config, std::chrono::milliseconds> Schema<Config>::Duration(
    std::string flag, std::string env, std::chrono::milliseconds Config::*member,
    std::chrono::milliseconds default_value, std::string help) {
  return Add<std::chrono::milliseconds>(std::move(flag), std::move(env), KeyType::kDuration, member,
                                        default_value, std::move(help));
}

template <typename Config>
KeyRef<Config, std::vector<std::string>> Schema<Config>::StringList(
    std::string flag, std::string env, std::vector<std::string> Config::*member,
    std::vector<std::string> default_value, std::string help) {
  return Add<std::vector<std::string>>(std::move(flag), std::move(env), KeyType::kStringList,
                                       member, std::move(default_value), std::move(help));
}

template <typename Config>
KeyRef<Config, json::Value> Schema<Config>::Json(std::string flag, std::string env,
                                                 json::Value Config::*member,
                                                 json::Value default_value, std::string help) {
  return Add<json::Value>(std::move(flag), std::move(env), KeyType::kJson, member,
                          std::move(default_value), std::move(help));
}

template <typename Config>
void Schema<Config>::Check(std::function<absl::Status(const Config&)> check) {
  checks_.push_back(
      [check = std::move(check)](const void* c) { return check(*static_cast<const Config*>(c)); });
}

template <typename Config>
absl::StatusOr<Loaded<Config>> Schema<Config>::Load(const LoadOptions& options) const {
  Loaded<Config> loaded;
  absl::StatusOr<internal::LoadResult> result =
      internal::Load(keys_, checks_, ignored_env_prefixes_, options, &loaded.config);
  if (!result.ok()) return result.status();
  loaded.help_requested = result->help_requested;
  loaded.warnings = std::move(result->warnings);
  loaded.config_path = std::move(result->config_path);
  loaded.file = std::move(result->file);
  loaded.sources = std::move(result->sources);
  return loaded;
}

template <typename Config>
absl::StatusOr<Loaded<Config>> Schema<Config>::LoadFromProcess(int argc, char** argv) const {
  LoadOptions options;
  for (int i = 1; i < argc; ++i) options.args.emplace_back(argv[i]);
  options.env = ProcessEnv();
  return Load(options);
}

}  // namespace p402::config
