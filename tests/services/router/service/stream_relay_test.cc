// StreamRelay and DeliveredTokenCounter (services/router/adapters/stream_relay.h): pure.
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/openai/token_estimate.h"
#include "services/router/adapters/stream_relay.h"

namespace p402::router {
namespace {

std::string Chunk(const std::string& delta_json, const std::string& finish = "null") {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
         "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":" +
         delta_json + ",\"finish_reason\":" + finish + "}]}\n\n";
}
std::string Word(const std::string& w) { return Chunk("{\"content\":\"" + w + "\"}"); }

// Output costs 1 micro-USD per token, input is free: the limit is the output token budget.
Prices OneMicroPerOutputToken() { return Prices{.input = 0, .output = 1'000'000}; }

TEST_CASE("delivered tokens: piecewise text is not over-counted", "[unit][relay]") {
  DeliveredTokenCounter counter;
  std::string all;
  for (int i = 0; i < 300; ++i) {
    std::string piece = i == 0 ? "word" : " word";
    CHECK(counter.TotalWith(piece) >= counter.total());
    counter.Add(piece);
    all += piece;
  }
  const int64_t whole = openai::EstimateTextTokens(all);
  // Summing per-piece estimates would give 300 * 2 = 600; blocks stay within one token per block.
  CHECK(counter.total() >= whole);
  CHECK(counter.total() <= whole + static_cast<int64_t>(all.size() / 256) + 1);
  // Non-ASCII split across Adds is counted like the whole.
  DeliveredTokenCounter utf8;
  utf8.Add("\xe6\x97\xa5");
  utf8.Add("\xe6\x9c\xac");
  CHECK(utf8.total() == openai::EstimateTextTokens("\xe6\x97\xa5\xe6\x9c\xac"));
}

TEST_CASE("relay: holds deltas until the first token, then meters", "[unit][relay]") {
  auto relay = StreamRelay::Create("openai", OneMicroPerOutputToken(), 10, 0);
  REQUIRE(relay.ok());
  std::vector<v1::ChatDelta> out;
  REQUIRE((*relay)->Feed(Chunk("{\"role\":\"assistant\",\"content\":\"\"}"), out).ok());
  CHECK(out.empty());
  CHECK_FALSE((*relay)->first_token());
  // A chunk split mid-event is reassembled by the SSE parser.
  std::string w = Word("Hello");
  REQUIRE((*relay)->Feed(w.substr(0, 20), out).ok());
  CHECK(out.empty());
  REQUIRE((*relay)->Feed(w.substr(20), out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].role() == "assistant");
  CHECK(out[1].content() == "Hello");
  CHECK((*relay)->first_token());
  out.clear();
  REQUIRE((*relay)->Feed(Word(" world") + Chunk("{}", "\"stop\""), out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[1].finish_reason() == "stop");
  CHECK_FALSE((*relay)->done());
  CHECK((*relay)->complete());  // finish_reason seen
  // No usage reported: estimated from the delivered text and the input estimate.
  v1::TokenUsage u = (*relay)->Usage(true);
  CHECK(u.estimated());
  CHECK(u.input_tokens() == 10);
  CHECK(u.output_tokens() == openai::EstimateTextTokens("Hello world"));
  REQUIRE((*relay)
              ->Feed("data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
                     "\"completion_tokens\":2,\"total_tokens\":9}}\n\ndata: [DONE]\n\n",
                     out)
              .ok());
  CHECK((*relay)->done());
  u = (*relay)->Usage(true);
  CHECK_FALSE(u.estimated());
  CHECK(u.input_tokens() == 7);
  CHECK(u.output_tokens() == 2);
}

TEST_CASE("relay: stops before the delta that would pass the spend limit", "[unit][relay]") {
  // "abcdef" = 2 tokens each; a limit of 5 micro-USD allows 2 deltas (4 tokens), not 3 (6).
  auto relay = StreamRelay::Create("openai", OneMicroPerOutputToken(), 0, 5);
  REQUIRE(relay.ok());
  std::vector<v1::ChatDelta> out;
  absl::Status s = (*relay)->Feed(Word("abcdef") + Word("abcdef") + Word("abcdef"), out);
  CHECK(s.code() == absl::StatusCode::kResourceExhausted);
  CHECK(ReasonOf(s) == "budget_exhausted");
  REQUIRE(out.size() == 2);
  CHECK((*relay)->delivered_output_tokens() == 4);
  CHECK((*relay)->Usage(false).output_tokens() == 4);
  // Stopped: later input is ignored.
  CHECK((*relay)->Feed(Word("x"), out).ok());
  CHECK(out.size() == 2);
}

TEST_CASE("relay: the provider's max_tokens caps the output estimate", "[unit][relay]") {
  // Each "abcdef" delta is one provider token but estimates at 2. With max_tokens 4 the provider
  // cannot bill more than 4 output tokens, so a limit of 5 micro-USD (which covers them) must not
  // cut the stream on the over-estimate, and a cut stream is never billed above max_tokens.
  auto relay = StreamRelay::Create("openai", OneMicroPerOutputToken(), 0, 5, 4);
  REQUIRE(relay.ok());
  std::vector<v1::ChatDelta> out;
  REQUIRE((*relay)->Feed(Word("abcdef") + Word("abcdef") + Word("abcdef") + Word("abcdef"), out)
              .ok());
  CHECK(out.size() == 4);
  CHECK((*relay)->delivered_output_tokens() == 4);
  CHECK((*relay)->Usage(false).output_tokens() == 4);
  // Without the cap, the same stream is cut after two deltas (see the previous case).
  auto uncapped = StreamRelay::Create("openai", OneMicroPerOutputToken(), 0, 5, 0);
  REQUIRE(uncapped.ok());
  out.clear();
  CHECK((*uncapped)->Feed(Word("abcdef") + Word("abcdef") + Word("abcdef"), out).code() ==
        absl::StatusCode::kResourceExhausted);
}

TEST_CASE("relay: in-stream errors and garbage", "[unit][relay]") {
  auto relay = StreamRelay::Create("openai", OneMicroPerOutputToken(), 0, 0);
  REQUIRE(relay.ok());
  std::vector<v1::ChatDelta> out;
  absl::Status s = (*relay)->Feed(
      "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", out);
  CHECK(ReasonOf(s) == "provider_error");
  auto bad = StreamRelay::Create("openai", OneMicroPerOutputToken(), 0, 0);
  REQUIRE(bad.ok());
  s = (*bad)->Feed("data: not json\n\n", out);
  CHECK(ReasonOf(s) == "invalid_response");
  CHECK(StreamRelay::Create("gemini", OneMicroPerOutputToken(), 0, 0).status().code() ==
        absl::StatusCode::kUnimplemented);
}

TEST_CASE("relay: Anthropic input usage from message_start replaces the estimate",
          "[unit][relay]") {
  // Input costs 1 micro per token too: the estimate (1000) alone would exceed the limit (100),
  // the provider's own count (10) leaves room for output.
  auto relay =
      StreamRelay::Create("anthropic", Prices{.input = 1'000'000, .output = 1'000'000}, 1000, 100);
  REQUIRE(relay.ok());
  std::vector<v1::ChatDelta> out;
  std::string events =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
      "\"model\":\"claude\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n";
  REQUIRE((*relay)->Feed(events, out).ok());
  CHECK((*relay)->first_token());
  v1::TokenUsage u = (*relay)->Usage(false);
  CHECK(u.input_tokens() == 10);
  CHECK(u.estimated());
}

}  // namespace
}  // namespace p402::router
