// Tests of libs/http/sse.h.
#include "libs/http/sse.h"

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::http {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

std::vector<SseEvent> ParseInPieces(std::string_view stream, size_t piece) {
  SseParser parser;
  std::vector<SseEvent> out;
  for (size_t i = 0; i < stream.size(); i += piece) {
    REQUIRE_THAT(parser.Feed(stream.substr(i, piece), out), IsOk());
  }
  return out;
}

TEST_CASE("FormatSseEvent", "[unit][http]") {
  CHECK(FormatSseEvent(R"({"a":1})") == "data: {\"a\":1}\n\n");
  CHECK(FormatSseEvent("[DONE]") == "data: [DONE]\n\n");
  CHECK(FormatSseEvent("x", "message_start") == "event: message_start\ndata: x\n\n");
  CHECK(FormatSseEvent("l1\nl2\r\nl3\rl4") == "data: l1\ndata: l2\ndata: l3\ndata: l4\n\n");
  CHECK(FormatSseEvent("") == "data: \n\n");
  CHECK(FormatSseEvent("x", "bad\nname") == "event: bad\ndata: x\n\n");
  CHECK(FormatSseComment("ping") == ": ping\n\n");
}

TEST_CASE("SseParser handles every split of a stream the same way", "[unit][http]") {
  const std::string stream =
      "\xEF\xBB\xBF"  // BOM
      ": a comment\r\n"
      "event: message_start\r\n"
      "data: {\"type\":\"message_start\"}\r\n"
      "\r\n"
      "data: line one\n"
      "data:line two\n"
      "id: 7\n"
      "retry: 1500\n"
      "unknown: field\n"
      "\n"
      "data: cr only\r\r"
      "event: no data is not dispatched\n\n"
      "data\n\n"
      "data: [DONE]\n\n";
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    INFO("piece size " << piece);
    auto events = ParseInPieces(stream, piece);
    REQUIRE(events.size() == 5);
    CHECK(events[0].event == "message_start");
    CHECK(events[0].data == R"({"type":"message_start"})");
    CHECK(events[1].event.empty());
    CHECK(events[1].data == "line one\nline two");
    CHECK(events[1].id == "7");
    CHECK(events[1].retry == 1500);
    CHECK(events[2].data == "cr only");
    CHECK(events[3].data.empty());
    CHECK(events[4].data == "[DONE]");
  }
}

TEST_CASE("SseParser round-trips FormatSseEvent", "[unit][http]") {
  std::string data = "multi\nline\r\npayload with : colon";
  std::string wire = FormatSseEvent(data, "content_block_delta");
  SseParser parser;
  std::vector<SseEvent> out;
  REQUIRE_THAT(parser.Feed(wire, out), IsOk());
  REQUIRE(out.size() == 1);
  CHECK(out[0].event == "content_block_delta");
  CHECK(out[0].data == "multi\nline\npayload with : colon");
  CHECK_FALSE(parser.has_partial());
}

TEST_CASE("SseParser reports a stream cut mid-event and bounds memory", "[unit][http]") {
  SseParser parser;
  std::vector<SseEvent> out;
  REQUIRE_THAT(parser.Feed("data: {\"partial\":", out), IsOk());
  CHECK(out.empty());
  CHECK(parser.has_partial());
  SseParser complete_line;
  REQUIRE_THAT(complete_line.Feed("data: x\n", out), IsOk());
  CHECK(complete_line.has_partial());  // the blank line never came

  SseParser small(64);
  CHECK_THAT(small.Feed("data: " + std::string(100, 'x'), out),
             StatusIs(absl::StatusCode::kResourceExhausted));
  CHECK_THAT(small.Feed("\n\n", out), StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace p402::http
