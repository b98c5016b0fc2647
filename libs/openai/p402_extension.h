// File: libs/openai/p402_extension.h
// The `p402` request extension (ignored by other OpenAI servers): routing mode or custom weights,
// provider pin and filters, failover, rate-limit strategy, cost ceiling, required capabilities,
// task, semantic-cache switches and the agent session. DecodeChatRequest (chat_request.h) calls
// DecodeP402Extension for the `p402` member; errors are the same OpenAI-style InvalidArgument
// statuses, with params such as "p402.failover.max_retries".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "p402/v1/common.pb.h"
#include "p402/v1/semantic_cache.pb.h"

namespace p402::openai {

struct P402Extension {
  // True when the body had a `p402` object (even an empty one).
  bool present = false;
  // True when p402.mode was given (a mode name or a weights object): `model` may then be absent and
  // the router may override it.
  bool mode_given = false;
  // mode / weights, provider, allowed_providers, denied_providers, failover, rate_limit_strategy,
  // max_cost_micro_usd (0 = no ceiling; a ceiling given by the client is always >= 1),
  // required_capabilities (deduplicated), task, max_tier.
  p402::v1::RoutingOptions routing;
  // p402.cache: look up and store in the semantic cache.
  bool cache = false;
  // p402.cache_scope: "account" | "global" | "none"; UNSPECIFIED when absent (= account).
  p402::v1::CacheScope cache_scope = p402::v1::CACHE_SCOPE_UNSPECIFIED;
  // p402.cache_threshold: minimum similarity in (0, 1] for a hit; 0 = the service default.
  double cache_threshold = 0;
  // p402.cache_max_age_ms: refuse cache entries older than this; 0 = no limit (entry TTL only).
  int64_t cache_max_age_ms = 0;
  // p402.session_id: agent session to spend from; 1..128 of [A-Za-z0-9._:-]; empty = none.
  std::string session_id;
  // p402.allow_max_tokens_reduction: the guard may lower max_tokens to fit the remaining budget
  // instead of denying.
  bool allow_max_tokens_reduction = false;
};

// Known values of p402.required_capabilities.
inline constexpr std::string_view kKnownCapabilities[] = {"tools",     "vision",    "json_mode",
                                                          "reasoning", "streaming", "embeddings"};

// Decodes the value of the `p402` member (null gives defaults with present = false).
//
//   mode                   "cost" | "quality" | "speed" | "balanced", or {"cost", "quality",
//                          "speed"} weights (each a number in [0, 1], missing = 0, sum > 0) ->
//                          ROUTING_MODE_CUSTOM
//   provider               provider id, [A-Za-z0-9._-]{1,64}
//   allowed_providers, denied_providers, failover.fallback_providers   arrays of provider ids
//   failover               {enabled?: bool, max_retries?: 0..10, fallback_providers?: [...]}, or a
//                          bool as shorthand for {enabled}
//   rate_limit_strategy    "switch" | "queue" | "fail"
//   max_cost_usd           number or decimal string, > 0; converted exactly, truncated to whole
//                          micro-USD (a ceiling never grows), must be at least 0.000001
//   required_capabilities  array of kKnownCapabilities
//   task                   label, [A-Za-z0-9._-]{1,64}
//   max_tier               "budget" | "mid" | "premium"
//   cache, allow_max_tokens_reduction   bool
//   cache_scope            "account" | "global" | "none"
//   cache_threshold        number in (0, 1]
//   cache_max_age_ms       integer >= 0
//   session_id             string, 1..128 of [A-Za-z0-9._:-]
// Unknown members are rejected (unknown_parameter): a misspelt budget or provider control must not
// be ignored silently. Returns InvalidArgument with reason and param payloads. Thread-safe.
absl::StatusOr<P402Extension> DecodeP402Extension(const json::Value& p402);

// "cost", "quality", "speed", "balanced", "custom"; "" for UNSPECIFIED.
std::string_view RoutingModeName(p402::v1::RoutingMode mode);

}  // namespace p402::openai
