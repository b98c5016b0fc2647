#include "libs/openai/p402_extension.h"

#include <algorithm>

#include "libs/common/status_macros.h"
#include "libs/openai/decode_util.h"
#include "libs/openai/error_param.h"
#include "libs/openai/usd_json.h"

namespace p402::openai {
namespace {

using internal::BadValue;
using internal::Cat;
using internal::Field;
using internal::NotOneOf;

constexpr size_t kMaxProviders = 64;

absl::Status BadProviderId(std::string_view param, std::string_view id) {
  return BadValue(param, Cat({internal::Quote(id),
                              " is not a provider id (1 to 64 of A-Z, a-z, 0-9, '.', '_', '-')."}));
}

absl::StatusOr<std::string> ReadProviderId(const json::Value& v, std::string_view param) {
  P402_ASSIGN_OR_RETURN(std::string_view id, internal::ReadString(v, param));
  if (!internal::IsIdentifier(id, /*allow_dot=*/true)) {
    return BadProviderId(param, id);
  }
  return std::string(id);
}

// Fills a repeated provider-id field (replacing what a duplicated key set before).
absl::Status ReadProviderList(const json::Value& v, std::string_view param,
                              google::protobuf::RepeatedPtrField<std::string>& out) {
  P402_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                        internal::ReadStringArray(v, param, kMaxProviders, 64));
  out.Clear();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!internal::IsIdentifier(ids[i], /*allow_dot=*/true)) {
      return BadProviderId(internal::Index(param, i), ids[i]);
    }
    *out.Add() = std::move(ids[i]);
  }
  return absl::OkStatus();
}

absl::Status DecodeMode(const json::Value& v, P402Extension& ext) {
  constexpr std::string_view kParam = "p402.mode";
  v1::RoutingOptions& r = ext.routing;
  if (v.is_string()) {
    const std::string& s = v.AsString();
    if (s == "cost") {
      r.set_mode(v1::ROUTING_MODE_COST);
    } else if (s == "quality") {
      r.set_mode(v1::ROUTING_MODE_QUALITY);
    } else if (s == "speed") {
      r.set_mode(v1::ROUTING_MODE_SPEED);
    } else if (s == "balanced") {
      r.set_mode(v1::ROUTING_MODE_BALANCED);
    } else {
      return NotOneOf(kParam, s, {"cost", "quality", "speed", "balanced"});
    }
    r.clear_weights();
    ext.mode_given = true;
    return absl::OkStatus();
  }
  if (!v.is_object()) {
    return internal::WrongType(kParam, "a mode name or an object of weights", v);
  }
  v1::RoutingWeights w;
  for (const auto& [key, value] : v.AsObject()) {
    std::string param = Field(kParam, key);
    if (key != "cost" && key != "quality" && key != "speed") {
      return internal::UnknownParam(param);
    }
    P402_ASSIGN_OR_RETURN(double d, internal::ReadNumber(value, param, 0, 1));
    if (key == "cost") {
      w.set_cost(d);
    } else if (key == "quality") {
      w.set_quality(d);
    } else {
      w.set_speed(d);
    }
  }
  if (!(w.cost() + w.quality() + w.speed() > 0)) {
    return BadValue(kParam, "custom weights {\"cost\", \"quality\", \"speed\"} must not all be 0.");
  }
  r.set_mode(v1::ROUTING_MODE_CUSTOM);
  *r.mutable_weights() = w;
  ext.mode_given = true;
  return absl::OkStatus();
}

absl::Status DecodeFailover(const json::Value& v, v1::FailoverOptions& f) {
  constexpr std::string_view kParam = "p402.failover";
  f.Clear();
  if (v.is_bool()) {
    f.set_enabled(v.AsBool());
    return absl::OkStatus();
  }
  if (!v.is_object()) {
    return internal::WrongType(kParam, "an object or a boolean", v);
  }
  // An object without `enabled` asks for failover (that is why it was written).
  f.set_enabled(true);
  for (const auto& [key, value] : v.AsObject()) {
    std::string param = Field(kParam, key);
    if (value.is_null()) {
      continue;
    }
    if (key == "enabled") {
      P402_ASSIGN_OR_RETURN(bool b, internal::ReadBool(value, param));
      f.set_enabled(b);
    } else if (key == "max_retries") {
      P402_ASSIGN_OR_RETURN(int64_t n, internal::ReadInt(value, param, 0, 10));
      f.set_max_retries(static_cast<int32_t>(n));
    } else if (key == "fallback_providers") {
      P402_RETURN_IF_ERROR(ReadProviderList(value, param, *f.mutable_fallback_providers()));
    } else {
      return internal::UnknownParam(param);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MicroUsd> DecodeMaxCost(const json::Value& v) {
  constexpr std::string_view kParam = "p402.max_cost_usd";
  std::optional<MicroUsd> micros;
  bool negative = false;
  if (v.is_number()) {
    negative = v.AsDouble() < 0;
    micros = UsdFromJsonDouble(v.AsDouble());
  } else if (v.is_string()) {
    const std::string& s = v.AsString();
    negative = !s.empty() && s[0] == '-';
    micros = UsdFromDecimalText(s);
    if (!micros && !negative) {
      return BadValue(kParam, Cat({internal::Quote(s), " is not a decimal amount in USD."}));
    }
  } else {
    return internal::WrongType(kParam, "a number", v);
  }
  if (negative) {
    return InvalidRequest(
        "Invalid 'p402.max_cost_usd': decimal below minimum value. Expected a value > 0.", kParam,
        "decimal_below_min_value");
  }
  if (!micros) {
    return InvalidRequest(
        "Invalid 'p402.max_cost_usd': decimal above maximum value. Expected a value <= "
        "9223372036854.775807.",
        kParam, "decimal_above_max_value");
  }
  if (*micros == 0) {
    // 0 would read as "no ceiling" downstream; a client that wrote a ceiling means one.
    return InvalidRequest(
        "Invalid 'p402.max_cost_usd': decimal below minimum value. Expected a value >= 0.000001 "
        "(omit the field for no limit).",
        kParam, "decimal_below_min_value");
  }
  return *micros;
}

absl::Status DecodeCapabilities(const json::Value& v, v1::RoutingOptions& r) {
  constexpr std::string_view kParam = "p402.required_capabilities";
  P402_ASSIGN_OR_RETURN(std::vector<std::string> caps,
                        internal::ReadStringArray(v, kParam, 16, 64));
  r.clear_required_capabilities();
  for (size_t i = 0; i < caps.size(); ++i) {
    const std::string& c = caps[i];
    if (std::find(std::begin(kKnownCapabilities), std::end(kKnownCapabilities), c) ==
        std::end(kKnownCapabilities)) {
      return NotOneOf(internal::Index(kParam, i), c,
                      {"tools", "vision", "json_mode", "reasoning", "streaming", "embeddings"});
    }
    const auto& have = r.required_capabilities();
    if (std::find(have.begin(), have.end(), c) == have.end()) {
      r.add_required_capabilities(c);
    }
  }
  return absl::OkStatus();
}

bool IsSessionId(std::string_view s) {
  if (s.empty() || s.size() > 128) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

// One member of the `p402` object (value not null).
absl::Status DecodeMember(std::string_view key, const json::Value& v, P402Extension& ext) {
  std::string param = Field("p402", key);
  v1::RoutingOptions& r = ext.routing;
  if (key == "mode") {
    return DecodeMode(v, ext);
  }
  if (key == "provider") {
    P402_ASSIGN_OR_RETURN(*r.mutable_provider(), ReadProviderId(v, param));
  } else if (key == "allowed_providers") {
    return ReadProviderList(v, param, *r.mutable_allowed_providers());
  } else if (key == "denied_providers") {
    return ReadProviderList(v, param, *r.mutable_denied_providers());
  } else if (key == "failover") {
    return DecodeFailover(v, *r.mutable_failover());
  } else if (key == "rate_limit_strategy") {
    P402_ASSIGN_OR_RETURN(std::string_view s, internal::ReadString(v, param));
    if (s == "switch") {
      r.set_rate_limit_strategy(v1::RATE_LIMIT_STRATEGY_SWITCH);
    } else if (s == "queue") {
      r.set_rate_limit_strategy(v1::RATE_LIMIT_STRATEGY_QUEUE);
    } else if (s == "fail") {
      r.set_rate_limit_strategy(v1::RATE_LIMIT_STRATEGY_FAIL);
    } else {
      return NotOneOf(param, s, {"switch", "queue", "fail"});
    }
  } else if (key == "max_cost_usd") {
    P402_ASSIGN_OR_RETURN(MicroUsd micros, DecodeMaxCost(v));
    r.set_max_cost_micro_usd(micros);
  } else if (key == "required_capabilities") {
    return DecodeCapabilities(v, r);
  } else if (key == "task") {
    P402_ASSIGN_OR_RETURN(std::string_view s, internal::ReadNonEmptyString(v, param, 64));
    if (!internal::IsIdentifier(s, /*allow_dot=*/true)) {
      return BadValue(param, Cat({internal::Quote(s),
                                  " is not a task label (1 to 64 of A-Z, a-z, 0-9, '.', '_', "
                                  "'-')."}));
    }
    r.set_task(std::string(s));
  } else if (key == "max_tier") {
    P402_ASSIGN_OR_RETURN(std::string_view s, internal::ReadString(v, param));
    if (s != "budget" && s != "mid" && s != "premium") {
      return NotOneOf(param, s, {"budget", "mid", "premium"});
    }
    r.set_max_tier(std::string(s));
  } else if (key == "cache") {
    P402_ASSIGN_OR_RETURN(ext.cache, internal::ReadBool(v, param));
  } else if (key == "cache_scope") {
    P402_ASSIGN_OR_RETURN(std::string_view s, internal::ReadString(v, param));
    if (s == "account") {
      ext.cache_scope = v1::CACHE_SCOPE_ACCOUNT;
    } else if (s == "global") {
      ext.cache_scope = v1::CACHE_SCOPE_GLOBAL;
    } else if (s == "none") {
      ext.cache_scope = v1::CACHE_SCOPE_NONE;
    } else {
      return NotOneOf(param, s, {"account", "global", "none"});
    }
  } else if (key == "cache_threshold") {
    P402_ASSIGN_OR_RETURN(ext.cache_threshold, internal::ReadNumber(v, param, 0, 1));
    if (ext.cache_threshold == 0) {
      return BadValue(param, "the similarity threshold must be greater than 0.");
    }
  } else if (key == "cache_max_age_ms") {
    P402_ASSIGN_OR_RETURN(ext.cache_max_age_ms,
                          internal::ReadInt(v, param, 0, int64_t{366} * 24 * 3600 * 1000));
  } else if (key == "session_id") {
    P402_ASSIGN_OR_RETURN(std::string_view s, internal::ReadString(v, param));
    if (!IsSessionId(s)) {
      return BadValue(param, Cat({internal::Quote(s),
                                  " is not a session id (1 to 128 of A-Z, a-z, 0-9, '.', '_', ':', "
                                  "'-')."}));
    }
    ext.session_id = std::string(s);
  } else if (key == "allow_max_tokens_reduction") {
    P402_ASSIGN_OR_RETURN(ext.allow_max_tokens_reduction, internal::ReadBool(v, param));
  } else {
    return internal::UnknownParam(param);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<P402Extension> DecodeP402Extension(const json::Value& p402) {
  P402Extension ext;
  if (p402.is_null()) {
    return ext;
  }
  if (!p402.is_object()) {
    return internal::WrongType("p402", "an object", p402);
  }
  ext.present = true;
  for (const auto& [key, value] : p402.AsObject()) {
    if (value.is_null()) {
      continue;  // null = absent, as for OpenAI's own optional fields
    }
    P402_RETURN_IF_ERROR(DecodeMember(key, value, ext));
  }
  return ext;
}

std::string_view RoutingModeName(v1::RoutingMode mode) {
  switch (mode) {
    case v1::ROUTING_MODE_COST:
      return "cost";
    case v1::ROUTING_MODE_QUALITY:
      return "quality";
    case v1::ROUTING_MODE_SPEED:
      return "speed";
    case v1::ROUTING_MODE_BALANCED:
      return "balanced";
    case v1::ROUTING_MODE_CUSTOM:
      return "custom";
    default:
      return "";
  }
}

}  // namespace p402::openai
