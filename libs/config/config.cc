// File: libs/config/config.cc
// The type-erased loader behind Schema<Config>::Load: layers defaults, the --config JSON file, the
// environment and flags, enforces the secret rules, validates and binds. Every problem found is
// reported at once so an operator fixes a manifest in one round trip.
#include "libs/config/config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_join.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/config/value_codec.h"

extern char** environ;

namespace p402::config {
namespace internal {
namespace {

constexpr size_t kMaxConfigFileBytes = size_t{16} << 20;
constexpr size_t kMaxSecretFileBytes = size_t{1} << 20;
constexpr std::string_view kEnvPrefix = "P402_";

// Reads a whole file of at most `limit` bytes.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read \"" + path + "\": " + std::strerror(errno));
  std::string data;
  char buf[64 * 1024];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > limit) {
      return InvalidArgument("\"" + path + "\" is larger than " + std::to_string(limit) + " bytes");
    }
  }
  if (in.bad()) return InvalidArgument("cannot read \"" + path + "\"");
  return data;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest candidate when it is plausibly a typo of `word`, else "".
std::string Closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = std::max<size_t>(2, word.size() / 4) + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return std::string(best);
}

std::string SecretHint(const KeySpec& key) {
  return "set it via env " + key.env + " or " + key.env + "_FILE";
}

// Validator messages may quote the value ("got ..."); a secret's text must not reach the logs.
std::string RedactSecret(std::string message, const FieldValue& value) {
  const std::string* text = std::get_if<std::string>(&value);
  if (text == nullptr || text->empty()) return message;
  for (size_t pos = message.find(*text); pos != std::string::npos; pos = message.find(*text, pos)) {
    message.replace(pos, text->size(), "[redacted]");
    pos += 10;
  }
  return message;
}

// A value layered onto a key, and where it came from (for error messages and Loaded::sources).
struct Layer {
  FieldValue value;
  Source source = Source::kDefault;
  std::string origin;  // " (from env X)", "" for flags and defaults
};

class Loader {
 public:
  Loader(const std::vector<KeySpec>& keys, const LoadOptions& options)
      : keys_(keys), options_(options) {
    layers_.reserve(keys.size());
    for (const KeySpec& key : keys) layers_.push_back({key.default_value, Source::kDefault, ""});
  }

  absl::StatusOr<LoadResult> Run(
      const std::vector<std::function<absl::Status(const void*)>>& checks,
      const std::vector<std::string>& ignored_env_prefixes, void* config) {
    LoadResult result;
    for (const std::string& arg : options_.args) {
      if (arg == "--help" || arg == "-h" || arg == "-help") {
        result.help_requested = true;
        return result;
      }
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> flags = SplitArgs();
    std::optional<std::string> config_path;
    for (const auto& [name, value] : flags) {
      if (name != "config") continue;
      if (config_path.has_value()) Error("--config given more than once");
      if (!value.has_value() || value->empty()) Error("--config needs a path: --config=FILE.json");
      if (value.has_value()) config_path = *value;
    }
    if (config_path.has_value() && !config_path->empty()) {
      result.config_path = *config_path;
      result.file = ApplyFile(*config_path);
    }
    ApplyEnv(ignored_env_prefixes, &result.warnings);
    ApplyFlags(flags);
    for (size_t i = 0; i < keys_.size(); ++i) {
      const KeySpec& key = keys_[i];
      bool valid = true;
      for (const auto& validate : key.validators) {
        absl::Status s = validate(layers_[i].value);
        if (!s.ok()) {
          std::string msg = MessageOf(s);
          if (key.secret) msg = RedactSecret(std::move(msg), layers_[i].value);
          Error("--" + key.name + ": " + msg + layers_[i].origin);
          valid = false;
          break;
        }
      }
      if (valid) key.set(config, layers_[i].value);
      result.sources[key.name] = layers_[i].source;
    }
    if (errors_.empty()) {
      for (const auto& check : checks) {
        absl::Status s = check(config);
        if (!s.ok()) Error(MessageOf(s));
      }
    }
    if (!errors_.empty()) return InvalidArgument(absl::StrJoin(errors_, "; "));
    return result;
  }

 private:
  void Error(std::string message) { errors_.push_back(std::move(message)); }

  std::optional<size_t> FindKey(std::string_view name) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i].name == name) return i;
    }
    return std::nullopt;
  }

  std::vector<std::string_view> FlagNames() const {
    std::vector<std::string_view> names;
    for (const KeySpec& key : keys_) names.push_back(key.name);
    names.push_back("config");
    return names;
  }

  // "--name=value" -> (name, value); "--name" -> (name, nullopt). Other shapes are errors.
  std::vector<std::pair<std::string, std::optional<std::string>>> SplitArgs() {
    std::vector<std::pair<std::string, std::optional<std::string>>> flags;
    for (const std::string& arg : options_.args) {
      if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
        Error("unexpected argument \"" + arg + "\" (flags are --key=value)");
        continue;
      }
      size_t eq = arg.find('=');
      if (eq == std::string::npos) {
        flags.emplace_back(arg.substr(2), std::nullopt);
      } else {
        flags.emplace_back(arg.substr(2, eq - 2), arg.substr(eq + 1));
      }
    }
    return flags;
  }

  json::Value ApplyFile(const std::string& path) {
    std::string where = "config file " + path;
    absl::StatusOr<std::string> text = ReadFile(path, kMaxConfigFileBytes);
    if (!text.ok()) {
      Error(where + ": " + MessageOf(text.status()));
      return json::Value();
    }
    absl::StatusOr<json::Value> doc = json::Value::Parse(*text);
    if (!doc.ok()) {
      Error(where + ": " + MessageOf(doc.status()));
      return json::Value();
    }
    if (!doc->is_object()) {
      Error(where + ": top level must be an object, got " +
            std::string(json::TypeName(doc->type())));
      return json::Value();
    }
    for (const auto& [name, value] : doc->AsObject()) {
      std::optional<size_t> index = FindKey(name);
      if (!index.has_value()) {
        std::string hint = Closest(name, FlagNames());
        Error(where + ": unknown key \"" + name + "\"" +
              (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        continue;
      }
      const KeySpec& key = keys_[*index];
      if (key.secret) {
        Error(where + ": key \"" + name + "\" is a secret and must not be in the file; " +
              SecretHint(key));
        continue;
      }
      if (value.is_null()) continue;  // "not set": keeps the default
      absl::StatusOr<FieldValue> v = FromJson(key.type, value);
      if (!v.ok()) {
        Error("--" + key.name + ": " + MessageOf(v.status()) + " (from " + where + ")");
        continue;
      }
      layers_[*index] = {*std::move(v), Source::kFile, " (from " + where + ")"};
    }
    return *std::move(doc);
  }

  void ApplyEnv(const std::vector<std::string>& ignored_prefixes,
                std::vector<std::string>* warnings) {
    const auto& env = options_.env;
    for (size_t i = 0; i < keys_.size(); ++i) {
      const KeySpec& key = keys_[i];
      if (key.env.empty()) continue;
      std::string file_var = key.env + "_FILE";
      auto direct = env.find(key.env);
      auto via_file = env.find(file_var);
      if (direct != env.end() && via_file != env.end()) {
        Error("both " + key.env + " and " + file_var + " are set; use one");
        continue;
      }
      std::string text;
      std::string origin;
      if (direct != env.end()) {
        text = direct->second;
        origin = " (from env " + key.env + ")";
      } else if (via_file != env.end()) {
        absl::StatusOr<std::string> content = ReadFile(via_file->second, kMaxSecretFileBytes);
        if (!content.ok()) {
          Error(file_var + ": " + MessageOf(content.status()));
          continue;
        }
        text = *std::move(content);
        // Secret files conventionally end with a newline that is not part of the value.
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        origin = " (from env " + file_var + ")";
      } else {
        continue;
      }
      absl::StatusOr<FieldValue> v = ParseText(key.type, text);
      if (!v.ok()) {
        // Never echo a secret's text back into an error message (errors get logged).
        std::string msg = key.secret ? "cannot parse value as " + std::string(KeyTypeName(key.type))
                                     : MessageOf(v.status());
        Error("--" + key.name + ": " + msg + origin);
        continue;
      }
      layers_[i] = {*std::move(v), Source::kEnv, origin};
    }
    std::vector<std::string_view> known;
    for (const KeySpec& key : keys_) {
      if (!key.env.empty()) known.push_back(key.env);
    }
    for (const auto& [name, value] : env) {
      if (name.compare(0, kEnvPrefix.size(), kEnvPrefix) != 0) continue;
      bool is_known = false;
      for (std::string_view k : known) {
        is_known = is_known || name == k ||
                   (name.size() == k.size() + 5 && name.compare(0, k.size(), k) == 0 &&
                    name.compare(k.size(), 5, "_FILE") == 0);
      }
      for (const std::string& prefix : ignored_prefixes) {
        is_known = is_known || name.compare(0, prefix.size(), prefix) == 0;
      }
      if (is_known) continue;
      std::string hint = Closest(name, known);
      warnings->push_back("unknown environment variable " + name +
                          (hint.empty() ? "" : " (did you mean " + hint + "?)"));
    }
  }

  void ApplyFlags(const std::vector<std::pair<std::string, std::optional<std::string>>>& flags) {
    for (const auto& [name, value] : flags) {
      if (name == "config") continue;
      std::optional<size_t> index = FindKey(name);
      if (!index.has_value()) {
        std::string hint = Closest(name, FlagNames());
        Error("unknown flag --" + name + (hint.empty() ? "" : " (did you mean --" + hint + "?)"));
        continue;
      }
      const KeySpec& key = keys_[*index];
      if (key.secret) {
        Error("--" + name + " is a secret and cannot be a flag (flags are visible in ps); " +
              SecretHint(key));
        continue;
      }
      if (!value.has_value() && key.type != KeyType::kBool) {
        Error("--" + name + ": missing value (use --" + name + "=value)");
        continue;
      }
      absl::StatusOr<FieldValue> v =
          value.has_value() ? ParseText(key.type, *value) : FieldValue(true);
      if (!v.ok()) {
        Error("--" + name + ": " + MessageOf(v.status()));
        continue;
      }
      layers_[*index] = {*std::move(v), Source::kFlag, ""};
    }
  }

  const std::vector<KeySpec>& keys_;
  const LoadOptions& options_;
  std::vector<Layer> layers_;
  std::vector<std::string> errors_;
};

bool IsFlagName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

[[noreturn]] void SchemaError(const std::string& message) {
  std::fprintf(stderr, "config schema error: %s\n", message.c_str());
  std::abort();
}

}  // namespace

absl::StatusOr<LoadResult> Load(const std::vector<KeySpec>& keys,
                                const std::vector<std::function<absl::Status(const void*)>>& checks,
                                const std::vector<std::string>& ignored_env_prefixes,
                                const LoadOptions& options, void* config) {
  Loader loader(keys, options);
  return loader.Run(checks, ignored_env_prefixes, config);
}

void CheckNewKey(const std::vector<KeySpec>& keys, const KeySpec& key) {
  if (!IsFlagName(key.name) || key.name == "config" || key.name == "help") {
    SchemaError("bad flag name \"" + key.name + "\" (want [a-z][a-z0-9_]*, not config/help)");
  }
  if (!key.env.empty() && !IsEnvName(key.env)) {
    SchemaError("bad env name \"" + key.env + "\" for --" + key.name);
  }
  if (key.secret && key.env.empty()) SchemaError("secret --" + key.name + " needs an env name");
  for (const KeySpec& other : keys) {
    if (other.name == key.name) SchemaError("duplicate flag --" + key.name);
    if (!key.env.empty() && other.env == key.env) SchemaError("duplicate env " + key.env);
  }
}

}  // namespace internal

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kString: return "string";
    case KeyType::kInt: return "int";
    case KeyType::kBool: return "bool";
    case KeyType::kDouble: return "double";
    case KeyType::kDuration: return "duration";
    case KeyType::kStringList: return "list";
    case KeyType::kJson: return "json";
  }
  return "unknown";
}

std::string_view SourceName(Source source) {
  switch (source) {
    case Source::kDefault: return "default";
    case Source::kFile: return "file";
    case Source::kEnv: return "env";
    case Source::kFlag: return "flag";
  }
  return "unknown";
}

std::map<std::string, std::string> ProcessEnv() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace p402::config
