// Catalog loading: models.dev-format JSON (+ "p402" extras) -> Catalog. Defaults for missing
// optional fields are listed in services/router/core/README.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/router/core/catalog.h"

namespace p402::router {
namespace {

constexpr int kDefaultQuality = 1000;
constexpr int64_t kDefaultLatencyMs = 1000;

std::string Fnv1a64(std::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash = (hash ^ c) * 1099511628211ull;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "fnv1a64:%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

absl::Status TypeError(std::string_view where, std::string_view field, std::string_view want) {
  return InvalidArgument(std::string("catalog: ") + std::string(where) + ": \"" +
                         std::string(field) + "\" must be " + std::string(want));
}

// Optional string member: nullopt when absent or null; error when of another type.
absl::StatusOr<std::optional<std::string>> OptString(const json::Value& obj, std::string_view key,
                                                     std::string_view where) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) {
    return std::optional<std::string>();
  }
  if (!v->is_string()) {
    return TypeError(where, key, "a string");
  }
  return std::optional<std::string>(v->AsString());
}

// Optional non-negative number member.
absl::StatusOr<std::optional<double>> OptNumber(const json::Value& obj, std::string_view key,
                                                std::string_view where) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) {
    return std::optional<double>();
  }
  if (!v->is_number() || !std::isfinite(v->AsDouble()) || v->AsDouble() < 0) {
    return TypeError(where, key, "a non-negative number");
  }
  return std::optional<double>(v->AsDouble());
}

absl::StatusOr<bool> OptBool(const json::Value& obj, std::string_view key, bool fallback,
                             std::string_view where) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) {
    return fallback;
  }
  if (!v->is_bool()) {
    return TypeError(where, key, "a boolean");
  }
  return v->AsBool();
}

// Token counts: clamp absurd values so later arithmetic cannot overflow.
int64_t ToTokens(double d) { return d >= 1e15 ? int64_t{1'000'000'000'000'000} : int64_t(d); }

bool ArrayHasString(const json::Value* arr, std::string_view s) {
  if (arr == nullptr || !arr->is_array()) {
    return false;
  }
  for (const json::Value& v : arr->AsArray()) {
    if (v.is_string() && v.AsString() == s) {
      return true;
    }
  }
  return false;
}

}  // namespace

// Parses providers and models; a class so it can fill Catalog's private members.
class CatalogBuilder {
 public:
  static absl::Status AddProvider(Catalog& catalog, const std::string& key, const json::Value& pv) {
    if (!pv.is_object()) {
      return InvalidArgument("catalog: provider \"" + key + "\" must be an object");
    }
    ProviderInfo p;
    P402_ASSIGN_OR_RETURN(auto id, OptString(pv, "id", key));
    p.id = id.value_or(key);
    P402_ASSIGN_OR_RETURN(auto name, OptString(pv, "name", key));
    p.name = name.value_or(p.id);
    P402_ASSIGN_OR_RETURN(auto api, OptString(pv, "api", key));
    P402_ASSIGN_OR_RETURN(auto npm, OptString(pv, "npm", key));
    const json::Value* env = pv.Find("env");
    if (env != nullptr && env->is_array() && !env->AsArray().empty() &&
        env->AsArray()[0].is_string()) {
      p.key_env = env->AsArray()[0].AsString();
    }
    const json::Value* ext = pv.Find("p402");
    json::Value empty = json::Value::EmptyObject();
    if (ext == nullptr || ext->is_null()) {
      ext = &empty;
    } else if (!ext->is_object()) {
      return TypeError(key, "p402", "an object");
    }
    std::string where = key + ".p402";
    P402_ASSIGN_OR_RETURN(auto protocol, OptString(*ext, "protocol", where));
    P402_ASSIGN_OR_RETURN(auto base_url, OptString(*ext, "base_url", where));
    P402_ASSIGN_OR_RETURN(auto auth, OptString(*ext, "auth", where));
    P402_ASSIGN_OR_RETURN(auto key_env, OptString(*ext, "key_env", where));
    p.base_url = base_url ? *base_url : api.value_or("");
    while (!p.base_url.empty() && p.base_url.back() == '/') {
      p.base_url.pop_back();
    }
    // Without our extras, infer the protocol the way models.dev's SDK package implies it.
    if (protocol) {
      p.protocol = *protocol;
    } else if (npm && *npm == "@ai-sdk/anthropic") {
      p.protocol = "anthropic";
    } else if (!p.base_url.empty()) {
      p.protocol = "openai";
    }
    if (auth) {
      std::optional<AuthStyle> style = ParseAuthStyle(*auth);
      if (!style) {
        return TypeError(where, "auth", "bearer|x-api-key|api-key|query-key|sigv4|none");
      }
      p.auth = *style;
    } else {
      p.auth = p.protocol == "anthropic" ? AuthStyle::kXApiKey : AuthStyle::kBearer;
    }
    if (key_env) {
      p.key_env = *key_env;
    }
    if (const json::Value* h = ext->Find("default_headers"); h != nullptr && !h->is_null()) {
      if (!h->is_object()) {
        return TypeError(where, "default_headers", "an object of strings");
      }
      for (const auto& [name, value] : h->AsObject()) {
        if (!value.is_string()) {
          return TypeError(where, "default_headers", "an object of strings");
        }
        p.default_headers.emplace_back(name, value.AsString());
      }
    }
    if (catalog.provider_index_.count(p.id) != 0) {
      return InvalidArgument("catalog: duplicate provider \"" + p.id + "\"");
    }
    catalog.provider_index_.emplace(p.id, catalog.providers_.size());
    catalog.providers_.push_back(p);
    if (const json::Value* models = pv.Find("models"); models != nullptr && !models->is_null()) {
      if (!models->is_object()) {
        return TypeError(key, "models", "an object");
      }
      for (const auto& [model_key, mv] : models->AsObject()) {
        P402_RETURN_IF_ERROR(AddModel(catalog, p.id, model_key, mv));
      }
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status AddModel(Catalog& catalog, const std::string& provider,
                               const std::string& key, const json::Value& mv) {
    std::string where = provider + "/" + key;
    if (!mv.is_object()) {
      return InvalidArgument("catalog: model \"" + where + "\" must be an object");
    }
    ModelEntry m;
    m.provider = provider;
    P402_ASSIGN_OR_RETURN(auto id, OptString(mv, "id", where));
    m.id = id.value_or(key);
    P402_ASSIGN_OR_RETURN(auto name, OptString(mv, "name", where));
    m.name = name.value_or(m.id);
    const json::Value* cost = mv.Find("cost");
    if (cost != nullptr && !cost->is_null() && !cost->is_object()) {
      return TypeError(where, "cost", "an object");
    }
    std::optional<double> input, output, cache_read, cache_write;
    if (cost != nullptr && cost->is_object()) {
      P402_ASSIGN_OR_RETURN(input, OptNumber(*cost, "input", where + ".cost"));
      P402_ASSIGN_OR_RETURN(output, OptNumber(*cost, "output", where + ".cost"));
      P402_ASSIGN_OR_RETURN(cache_read, OptNumber(*cost, "cache_read", where + ".cost"));
      P402_ASSIGN_OR_RETURN(cache_write, OptNumber(*cost, "cache_write", where + ".cost"));
    }
    if (!input || !output) {
      catalog.skipped_.push_back(where + ": no cost.input/cost.output");
      return absl::OkStatus();
    }
    m.prices = {UsdDoubleToMicros(*input), UsdDoubleToMicros(*output),
                UsdDoubleToMicros(cache_read.value_or(0)),
                UsdDoubleToMicros(cache_write.value_or(0))};
    if (const json::Value* limit = mv.Find("limit"); limit != nullptr && limit->is_object()) {
      P402_ASSIGN_OR_RETURN(auto context, OptNumber(*limit, "context", where + ".limit"));
      P402_ASSIGN_OR_RETURN(auto out, OptNumber(*limit, "output", where + ".limit"));
      m.context_window = ToTokens(context.value_or(0));
      m.max_output = ToTokens(out.value_or(0));
    }
    P402_ASSIGN_OR_RETURN(bool tool_call, OptBool(mv, "tool_call", false, where));
    P402_ASSIGN_OR_RETURN(bool reasoning, OptBool(mv, "reasoning", false, where));
    P402_ASSIGN_OR_RETURN(bool structured, OptBool(mv, "structured_output", false, where));
    P402_ASSIGN_OR_RETURN(m.supports_temperature, OptBool(mv, "temperature", true, where));

    const json::Value* ext = mv.Find("p402");
    json::Value empty = json::Value::EmptyObject();
    if (ext == nullptr || ext->is_null()) {
      ext = &empty;
    } else if (!ext->is_object()) {
      return TypeError(where, "p402", "an object");
    }
    std::string xwhere = where + ".p402";
    P402_ASSIGN_OR_RETURN(auto canonical, OptString(*ext, "canonical", xwhere));
    m.canonical = canonical.value_or(m.id);
    P402_ASSIGN_OR_RETURN(auto tier, OptString(*ext, "tier", xwhere));
    if (tier) {
      std::optional<Tier> t = ParseTier(*tier);
      if (!t) {
        return TypeError(xwhere, "tier", "budget|mid|premium");
      }
      m.tier = *t;
    } else {
      // The catalog tool's rule on the base output price (USD per 1M): <1 budget, <10 mid.
      m.tier = m.prices.output < 1'000'000    ? Tier::kBudget
               : m.prices.output < 10'000'000 ? Tier::kMid
                                              : Tier::kPremium;
    }
    P402_ASSIGN_OR_RETURN(auto quality, OptNumber(*ext, "quality", xwhere));
    m.quality = quality ? static_cast<int>(std::min(*quality, 1e6)) : kDefaultQuality;
    P402_ASSIGN_OR_RETURN(auto latency, OptNumber(*ext, "latency_ms", xwhere));
    m.latency_ms = latency ? ToTokens(*latency) : kDefaultLatencyMs;
    if (const json::Value* caps = ext->Find("capabilities"); caps != nullptr && !caps->is_null()) {
      if (!caps->is_array()) {
        return TypeError(xwhere, "capabilities", "an array of strings");
      }
      for (const json::Value& c : caps->AsArray()) {
        if (!c.is_string()) {
          return TypeError(xwhere, "capabilities", "an array of strings");
        }
        m.capabilities.push_back(c.AsString());
      }
    } else {
      // Same derivation as tools/catalog/build_catalog.py.
      m.capabilities.push_back("streaming");
      if (tool_call) m.capabilities.push_back("tools");
      if (reasoning) m.capabilities.push_back("reasoning");
      if (structured) m.capabilities.push_back("json_mode");
      const json::Value* modalities = mv.Find("modalities");
      if (modalities != nullptr && ArrayHasString(modalities->Find("input"), "image")) {
        m.capabilities.push_back("vision");
      }
    }
    std::sort(m.capabilities.begin(), m.capabilities.end());
    m.capabilities.erase(std::unique(m.capabilities.begin(), m.capabilities.end()),
                         m.capabilities.end());
    catalog.models_.push_back(std::move(m));
    return absl::OkStatus();
  }
};

absl::StatusOr<Catalog> Catalog::FromJson(const json::Value& root) {
  if (!root.is_object()) {
    return InvalidArgument("catalog: the root must be an object keyed by provider id");
  }
  Catalog catalog;
  for (const auto& [key, pv] : root.AsObject()) {
    P402_RETURN_IF_ERROR(CatalogBuilder::AddProvider(catalog, key, pv));
  }
  std::sort(catalog.providers_.begin(), catalog.providers_.end(),
            [](const ProviderInfo& a, const ProviderInfo& b) { return a.id < b.id; });
  std::sort(catalog.models_.begin(), catalog.models_.end(),
            [](const ModelEntry& a, const ModelEntry& b) {
              return std::tie(a.provider, a.id) < std::tie(b.provider, b.id);
            });
  catalog.version_ = Fnv1a64(root.Serialize());
  catalog.BuildIndexes();
  for (size_t i = 1; i < catalog.models_.size(); ++i) {
    const ModelEntry& a = catalog.models_[i - 1];
    const ModelEntry& b = catalog.models_[i];
    if (a.provider == b.provider && a.id == b.id) {
      return InvalidArgument("catalog: duplicate model \"" + a.provider + "/" + a.id + "\"");
    }
  }
  return catalog;
}

absl::StatusOr<Catalog> Catalog::FromJsonText(std::string_view text) {
  P402_ASSIGN_OR_RETURN(json::Value root, json::Value::Parse(text));
  return FromJson(root);
}

}  // namespace p402::router
