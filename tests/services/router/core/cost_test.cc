#include "services/router/core/cost.h"

#include <limits>

#include "catch2/catch.hpp"

namespace p402::router {
namespace {

// gpt-4o-mini: $0.15 in, $0.60 out, $0.075 cached in (per 1M tokens).
constexpr Prices kMini{150'000, 600'000, 75'000, 0};
// gpt-4o: $2.50 / $10 / $1.25.
constexpr Prices kGpt4o{2'500'000, 10'000'000, 1'250'000, 0};
// claude-sonnet-4-5: $3 / $15 / read $0.30 / write $3.75.
constexpr Prices kSonnet{3'000'000, 15'000'000, 300'000, 3'750'000};

TEST_CASE("OpenAI usage: cached tokens are inside prompt_tokens", "[unit]") {
  ProviderUsage reported;
  reported.input_tokens = 10'000;  // prompt_tokens
  reported.cache_read_tokens = 4'000;
  reported.output_tokens = 500;
  reported.reasoning_tokens = 120;
  v1::TokenUsage usage = NormalizeUsage(reported, CacheRule::kCachedInsideInput);
  CHECK(usage.input_tokens() == 10'000);
  CHECK(usage.cached_input_tokens() == 4'000);
  CHECK(usage.cache_write_input_tokens() == 0);
  CHECK(usage.output_tokens() == 500);
  CHECK(usage.reasoning_tokens() == 120);

  v1::CostBreakdown cost = ComputeCost(usage, kMini, kGpt4o);
  CHECK(cost.input_micro_usd() == 900);   // 6,000 x 0.15
  CHECK(cost.cache_micro_usd() == 300);   // 4,000 x 0.075
  CHECK(cost.output_micro_usd() == 300);  // 500 x 0.60
  CHECK(cost.total_micro_usd() == 1'500);
  // Same tokens on gpt-4o: 6,000 x 2.5 + 4,000 x 1.25 + 500 x 10.
  CHECK(cost.direct_micro_usd() == 15'000 + 5'000 + 5'000);
  CHECK(cost.prices().input_per_mtok_micro_usd() == 150'000);
  CHECK(cost.prices().cache_read_per_mtok_micro_usd() == 75'000);
  CHECK_FALSE(cost.estimated());
}

TEST_CASE("Anthropic usage: cache reads and writes are reported apart", "[unit]") {
  ProviderUsage reported;
  reported.input_tokens = 1'000;  // uncached only
  reported.cache_read_tokens = 20'000;
  reported.cache_write_tokens = 3'000;
  reported.output_tokens = 800;
  v1::TokenUsage usage = NormalizeUsage(reported, CacheRule::kCachedSeparate);
  CHECK(usage.input_tokens() == 24'000);
  CHECK(usage.cached_input_tokens() == 20'000);
  CHECK(usage.cache_write_input_tokens() == 3'000);

  v1::CostBreakdown cost = ComputeCost(usage, kSonnet);
  CHECK(cost.input_micro_usd() == 3'000);           // 1,000 x 3
  CHECK(cost.cache_micro_usd() == 6'000 + 11'250);  // 20,000 x 0.30 + 3,000 x 3.75
  CHECK(cost.output_micro_usd() == 12'000);         // 800 x 15
  CHECK(cost.total_micro_usd() == 32'250);
  CHECK(cost.direct_micro_usd() == 32'250);  // no direct prices: no savings
}

TEST_CASE("Cost rounds every term up and handles odd inputs", "[unit]") {
  v1::TokenUsage usage;
  usage.set_input_tokens(1);
  usage.set_output_tokens(1);
  v1::CostBreakdown cost = ComputeCost(usage, kMini);
  CHECK(cost.input_micro_usd() == 1);   // 0.15 -> 1
  CHECK(cost.output_micro_usd() == 1);  // 0.6 -> 1
  CHECK(cost.total_micro_usd() == 2);

  // No separate cache price: cached tokens bill at the input price.
  usage.set_input_tokens(1'000'000);
  usage.set_cached_input_tokens(400'000);
  usage.set_output_tokens(0);
  cost = ComputeCost(usage, Prices{1'000'000, 2'000'000, 0, 0});
  CHECK(cost.input_micro_usd() == 600'000);
  CHECK(cost.cache_micro_usd() == 400'000);
  CHECK(cost.total_micro_usd() == 1'000'000);

  // Inconsistent provider data: cached > input is clamped; negatives count as 0.
  usage.set_input_tokens(100);
  usage.set_cached_input_tokens(1'000);
  usage.set_output_tokens(-5);
  usage.set_estimated(true);
  cost = ComputeCost(usage, kGpt4o);
  CHECK(cost.input_micro_usd() == 0);
  CHECK(cost.cache_micro_usd() == 125);  // 100 x 1.25
  CHECK(cost.output_micro_usd() == 0);
  CHECK(cost.estimated());

  // Saturation instead of overflow.
  usage.Clear();
  usage.set_output_tokens(std::numeric_limits<int64_t>::max());
  cost = ComputeCost(usage, Prices{0, std::numeric_limits<int64_t>::max(), 0, 0});
  CHECK(cost.total_micro_usd() == std::numeric_limits<int64_t>::max());

  ProviderUsage weird;
  weird.input_tokens = 10;
  weird.cache_read_tokens = 50;
  weird.output_tokens = 5;
  weird.reasoning_tokens = 9;
  v1::TokenUsage normalised = NormalizeUsage(weird, CacheRule::kCachedInsideInput);
  CHECK(normalised.cached_input_tokens() == 10);
  CHECK(normalised.reasoning_tokens() == 5);
}

TEST_CASE("SpendMeter tracks the running cost of a stream", "[unit]") {
  v1::TokenUsage input;
  input.set_input_tokens(1'000);  // 1,000 x 2.5 = 2,500
  SpendMeter meter(kGpt4o, input, 10'000);
  CHECK(meter.input_cost() == 2'500);
  CHECK(meter.CostAfter(0) == 2'500);
  CHECK(meter.CostAfter(750) == 10'000);
  CHECK(meter.AffordableOutputTokens() == 750);
  CHECK_FALSE(meter.WouldExceed(750));
  CHECK(meter.WouldExceed(751));  // 2,500 + 7,510

  // Provider-reported input replaces the estimate (cached input is cheaper).
  input.set_cached_input_tokens(1'000);
  meter.SetInputUsage(input);
  CHECK(meter.input_cost() == 1'250);
  CHECK(meter.AffordableOutputTokens() == 875);

  SpendMeter unlimited(kGpt4o, input, 0);
  CHECK_FALSE(unlimited.WouldExceed(std::numeric_limits<int64_t>::max()));
  CHECK(unlimited.AffordableOutputTokens() == std::numeric_limits<int64_t>::max());

  v1::TokenUsage big;
  big.set_input_tokens(10'000'000);
  SpendMeter over(kGpt4o, big, 10'000);
  CHECK(over.AffordableOutputTokens() == 0);
  CHECK(over.WouldExceed(0));
}

}  // namespace
}  // namespace p402::router
