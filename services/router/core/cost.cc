#include "services/router/core/cost.h"

#include <algorithm>
#include <limits>

namespace p402::router {
namespace {

constexpr MicroUsd kMaxMoney = std::numeric_limits<MicroUsd>::max();

int64_t NonNegative(int64_t v) { return v < 0 ? 0 : v; }

MicroUsd SaturatingAdd(MicroUsd a, MicroUsd b) {
  std::optional<MicroUsd> sum = AddMoney(a, b);
  return sum ? *sum : kMaxMoney;
}

MicroUsd SaturatingAddTokens(int64_t a, int64_t b) { return SaturatingAdd(a, b); }

struct Parts {
  MicroUsd input = 0;
  MicroUsd cache = 0;
  MicroUsd output = 0;
  MicroUsd total = 0;
};

// Input side only (uncached input + cache reads/writes).
Parts InputParts(const v1::TokenUsage& usage, const Prices& prices) {
  int64_t input = NonNegative(usage.input_tokens());
  int64_t cached = std::min(NonNegative(usage.cached_input_tokens()), input);
  int64_t write = std::min(NonNegative(usage.cache_write_input_tokens()), input - cached);
  int64_t uncached = input - cached - write;
  Parts parts;
  parts.input = TokenCost(uncached, prices.input);
  MicroUsd read_price = prices.cache_read > 0 ? prices.cache_read : prices.input;
  MicroUsd write_price = prices.cache_write > 0 ? prices.cache_write : prices.input;
  parts.cache = SaturatingAdd(TokenCost(cached, read_price), TokenCost(write, write_price));
  return parts;
}

Parts AllParts(const v1::TokenUsage& usage, const Prices& prices) {
  Parts parts = InputParts(usage, prices);
  parts.output = TokenCost(NonNegative(usage.output_tokens()), prices.output);
  parts.total = SaturatingAdd(SaturatingAdd(parts.input, parts.cache), parts.output);
  return parts;
}

}  // namespace

v1::TokenUsage NormalizeUsage(const ProviderUsage& reported, CacheRule rule) {
  v1::TokenUsage usage;
  int64_t input = NonNegative(reported.input_tokens);
  int64_t read = NonNegative(reported.cache_read_tokens);
  int64_t write = NonNegative(reported.cache_write_tokens);
  if (rule == CacheRule::kCachedSeparate) {
    input = SaturatingAddTokens(SaturatingAddTokens(input, read), write);
  } else {
    read = std::min(read, input);
    write = std::min(write, input - read);
  }
  usage.set_input_tokens(input);
  usage.set_cached_input_tokens(read);
  usage.set_cache_write_input_tokens(write);
  int64_t output = NonNegative(reported.output_tokens);
  usage.set_output_tokens(output);
  usage.set_reasoning_tokens(std::min(NonNegative(reported.reasoning_tokens), output));
  return usage;
}

v1::CostBreakdown ComputeCost(const v1::TokenUsage& usage, const Prices& prices,
                              const std::optional<Prices>& direct_prices) {
  Parts parts = AllParts(usage, prices);
  v1::CostBreakdown cost;
  cost.set_input_micro_usd(parts.input);
  cost.set_output_micro_usd(parts.output);
  cost.set_cache_micro_usd(parts.cache);
  cost.set_total_micro_usd(parts.total);
  cost.set_direct_micro_usd(direct_prices ? AllParts(usage, *direct_prices).total : parts.total);
  *cost.mutable_prices() = ToProto(prices);
  cost.set_estimated(usage.estimated());
  return cost;
}

MicroUsd TotalCost(const v1::TokenUsage& usage, const Prices& prices) {
  return AllParts(usage, prices).total;
}

SpendMeter::SpendMeter(const Prices& prices, const v1::TokenUsage& input, MicroUsd spend_limit)
    : prices_(prices), spend_limit_(spend_limit < 0 ? 0 : spend_limit) {
  SetInputUsage(input);
}

void SpendMeter::SetInputUsage(const v1::TokenUsage& input) {
  Parts parts = InputParts(input, prices_);
  input_cost_ = SaturatingAdd(parts.input, parts.cache);
}

MicroUsd SpendMeter::CostAfter(int64_t output_tokens) const {
  return SaturatingAdd(input_cost_, TokenCost(NonNegative(output_tokens), prices_.output));
}

bool SpendMeter::WouldExceed(int64_t output_tokens) const {
  return spend_limit_ > 0 && CostAfter(output_tokens) > spend_limit_;
}

int64_t SpendMeter::AffordableOutputTokens() const {
  if (spend_limit_ == 0 || prices_.output <= 0) {
    return std::numeric_limits<int64_t>::max();
  }
  if (input_cost_ > spend_limit_) {
    return 0;
  }
  // TokenCost rounds up: ceil(n * p / 1e6) <= left  <=>  n * p <= left * 1e6.
  __int128 left = static_cast<__int128>(spend_limit_ - input_cost_) * 1'000'000;
  __int128 n = left / prices_.output;
  return n > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max()
                                                 : static_cast<int64_t>(n);
}

}  // namespace p402::router
