// File: services/router/core/cost.h
// Exact cost of a call in integer micro-USD from catalog prices and token usage, the provider
// cache-accounting rules that normalise reported usage, and the spend meter used while streaming
// (cost of the tokens delivered so far; "would this exceed the reservation?").
//
// Usage convention (p402.v1.TokenUsage): input_tokens counts ALL input tokens, cached ones
// included; cached_input_tokens and cache_write_input_tokens are subsets of it. Providers differ:
//  - OpenAI-style (kCachedInsideInput): prompt_tokens already includes
//    prompt_tokens_details.cached_tokens; no cache-write count is reported.
//  - Anthropic (kCachedSeparate): input_tokens EXCLUDES cache_read_input_tokens and
//    cache_creation_input_tokens; NormalizeUsage adds them up.
// Billing (every term rounded up to a whole micro-dollar, libs/common TokenCost):
//   input  = (input - cached - cache_write) x input price
//   cache  = cached x cache_read price + cache_write x cache_write price
//            (a cache price of 0 means "no separate price": those tokens bill at the input price)
//   output = output tokens (reasoning included) x output price
//   total  = input + cache + output
#pragma once

#include <cstdint>
#include <optional>

#include "libs/common/money.h"
#include "p402/v1/common.pb.h"
#include "services/router/core/catalog.h"

namespace p402::router {

// How a provider reports cached input tokens.
enum class CacheRule {
  kCachedInsideInput,  // OpenAI and OpenAI-compatible providers
  kCachedSeparate,     // Anthropic Messages
};

// Token counts exactly as the provider reported them (fields it did not report = 0).
struct ProviderUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  int64_t reasoning_tokens = 0;
};

// Converts reported counts to the TokenUsage convention above. Negative counts become 0; with
// kCachedInsideInput the cached/write counts are clamped to input_tokens. estimated = false.
v1::TokenUsage NormalizeUsage(const ProviderUsage& reported, CacheRule rule);

// Cost of `usage` at `prices`. direct_micro_usd uses `direct_prices` (the model the client asked
// for, or a reference model) on the same usage; without it direct = total (no savings claimed).
// Never fails: negative counts count as 0, inconsistent subsets are clamped, sums saturate at
// INT64_MAX. Copies usage.estimated into the result.
v1::CostBreakdown ComputeCost(const v1::TokenUsage& usage, const Prices& prices,
                              const std::optional<Prices>& direct_prices = std::nullopt);

// The provider-charged part only (input + cache + output), same rules as ComputeCost.
MicroUsd TotalCost(const v1::TokenUsage& usage, const Prices& prices);

// Running cost of a stream. Value type; not thread-safe (one per stream).
class SpendMeter {
 public:
  // `input` = the call's input usage (an estimate until the provider reports it);
  // `spend_limit` = the reservation ceiling in micro-USD, 0 = no limit.
  SpendMeter(const Prices& prices, const v1::TokenUsage& input, MicroUsd spend_limit);

  // Replaces the input usage (e.g. Anthropic message_start, or the final OpenAI usage chunk).
  void SetInputUsage(const v1::TokenUsage& input);

  // Cost of the input plus `output_tokens` generated tokens.
  MicroUsd CostAfter(int64_t output_tokens) const;
  // True when a limit is set and CostAfter(output_tokens) is above it.
  bool WouldExceed(int64_t output_tokens) const;
  // Largest n with CostAfter(n) <= limit: INT64_MAX without a limit or with a free output price;
  // 0 when the input alone already exceeds the limit.
  int64_t AffordableOutputTokens() const;

  MicroUsd input_cost() const { return input_cost_; }
  MicroUsd spend_limit() const { return spend_limit_; }

 private:
  Prices prices_;
  MicroUsd input_cost_ = 0;
  MicroUsd spend_limit_ = 0;
};

}  // namespace p402::router
