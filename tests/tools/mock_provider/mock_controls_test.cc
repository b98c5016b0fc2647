// The mock provider's behaviour controls: headers, directives, the control endpoint, stats,
// delays, cuts and hangs.
#include <atomic>
#include <mutex>

#include "catch2/catch.hpp"
#include "tests/libs/http/http_test_util.h"
#include "tests/tools/mock_provider/mock_test_util.h"
#include "tools/mock_provider/controls.h"

namespace p402::mock_provider {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using namespace p402::mock_provider::testing;  // NOLINT

std::string Chat(const std::string& user_text, bool stream = false) {
  json::Writer w;
  w.BeginObject();
  w.Key("model");
  w.String("gpt-4o-mini");
  w.Key("stream");
  w.Bool(stream);
  w.Key("messages");
  w.BeginArray();
  w.BeginObject();
  w.Key("role");
  w.String("user");
  w.Key("content");
  w.String(user_text);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return w.Take();
}

json::Value Stats(http::HttpClient& client, const MockProvider& mock) {
  http::ClientRequest get;
  get.url = mock.base_url() + "/__mock/stats";
  return ParseJson(Fetch(client, get).body);
}

TEST_CASE("x-mock-status 429: Retry-After and x-ratelimit headers in OpenAI shape",
          "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto req = OpenAiPost(*mock, Chat("hi"));
  req.headers.Add("x-mock-status", "429");
  req.headers.Add("x-mock-retry-after", "2");
  auto r = Fetch(*client, req);
  CHECK(r.status == 429);
  CHECK(r.headers.Get("retry-after") == "2");
  CHECK(r.headers.Get("x-ratelimit-remaining-requests") == "0");
  CHECK(r.headers.Get("x-ratelimit-reset-requests") == "2s");
  json::Value e = ParseJson(r.body);
  CHECK(At(e, "error/code").AsString() == "rate_limit_exceeded");

  auto plain = OpenAiPost(*mock, Chat("hi"));
  plain.headers.Add("x-mock-status", "429");
  CHECK(Fetch(*client, plain).headers.Get("retry-after") == "1");  // default

  auto server_error = OpenAiPost(*mock, Chat("hi", true));  // errors precede any stream
  server_error.headers.Add("x-mock-status", "503");
  auto r5 = Fetch(*client, server_error);
  CHECK(r5.status == 503);
  CHECK(At(ParseJson(r5.body), "error/type").AsString() == "server_error");

  auto bad = OpenAiPost(*mock, Chat("hi"));
  bad.headers.Add("x-mock-status", "abc");
  auto rb = Fetch(*client, bad);
  CHECK(rb.status == 400);
  CHECK(At(ParseJson(rb.body), "error/message").AsString().find("x-mock-status") !=
        std::string::npos);
}

TEST_CASE("directives in the last user message steer the matching provider", "[unit][mock]") {
  auto mock = StartMock("openai");
  auto client = Client();
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("hello [[mock:status=500]]"))).status == 500);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("[[mock:anthropic:status=500]] hi"))).status ==
        200);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("[[mock:OpenAI:status=429,retry_after=3]]")))
            .headers.Get("retry-after") == "3");
  json::Value three = ParseJson(
      Fetch(*client, OpenAiPost(*mock, Chat("[[mock:tokens=9]] [[mock:openai:tokens=3]]"))).body);
  CHECK(At(three, "usage/completion_tokens").AsInt() == 3);  // later directive wins
  auto header_wins = OpenAiPost(*mock, Chat("[[mock:status=500]]"));
  header_wins.headers.Add("x-mock-status", "200");
  CHECK(Fetch(*client, header_wins).status == 200);
  auto typo = Fetch(*client, OpenAiPost(*mock, Chat("[[mock:stauts=500]]")));
  CHECK(typo.status == 400);
  CHECK(At(ParseJson(typo.body), "error/message").AsString().find("stauts") != std::string::npos);

  // Only the last user message counts.
  std::string two = R"({"model":"m","messages":[{"role":"user","content":"[[mock:status=500]]"},)"
                    R"({"role":"assistant","content":"ok"},{"role":"user","content":"again"}]})";
  CHECK(Fetch(*client, OpenAiPost(*mock, two)).status == 200);
}

TEST_CASE("the control endpoint queues behaviour for the next requests", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  http::ClientRequest post;
  post.method = "POST";
  post.url = mock->base_url() + "/__mock/behavior";
  post.body = R"({"status":503,"count":2})";
  REQUIRE(Fetch(*client, post).status == 200);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("a"))).status == 503);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("b"))).status == 503);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("c"))).status == 200);

  post.body = R"({"status":500,"count":0})";  // sticky until cleared
  REQUIRE(Fetch(*client, post).status == 200);
  for (int i = 0; i < 3; ++i) {
    CHECK(Fetch(*client, OpenAiPost(*mock, Chat("d"))).status == 500);
  }
  auto dir_wins = OpenAiPost(*mock, Chat("[[mock:status=201]]"));
  CHECK(Fetch(*client, dir_wins).status == 201);  // directives outrank the queue
  http::ClientRequest del = post;
  del.method = "DELETE";
  del.body.clear();
  REQUIRE(Fetch(*client, del).status == 200);
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("e"))).status == 200);

  post.body = R"({"status":"500"})";
  CHECK(Fetch(*client, post).status == 400);
  post.body = R"({"color":1})";
  CHECK(Fetch(*client, post).status == 400);
}

TEST_CASE("stats count requests by path and status and keep the last request",
          "[unit][mock]") {
  auto mock = StartMock("mistral");
  auto client = Client();
  Fetch(*client, OpenAiPost(*mock, Chat("one")));
  auto failing = OpenAiPost(*mock, Chat("two"));
  failing.headers.Add("x-mock-status", "500");
  failing.headers.Add("X-Trace", "abc");
  Fetch(*client, failing);
  json::Value s = Stats(*client, *mock);
  CHECK(At(s, "name").AsString() == "mistral");
  CHECK(At(s, "requests_total").AsInt() == 2);
  CHECK(At(s, "by_path").GetInt("/v1/chat/completions") == 2);
  CHECK(At(s, "by_status/200").AsInt() == 1);
  CHECK(At(s, "by_status/500").AsInt() == 1);
  CHECK(At(s, "last_request/method").AsString() == "POST");
  CHECK(At(s, "last_request/body").AsString() == Chat("two"));
  CHECK(At(s, "last_request/headers/x-trace").AsString() == "abc");
  CHECK(At(s, "last_request/headers").Find("authorization") == nullptr);
  CHECK(s.Serialize().find("sk-test-secret") == std::string::npos);

  http::ClientRequest reset;
  reset.method = "POST";
  reset.url = mock->base_url() + "/__mock/reset";
  REQUIRE(Fetch(*client, reset).status == 200);
  CHECK(At(Stats(*client, *mock), "requests_total").AsInt() == 0);
}

TEST_CASE("latency is an asynchronous timer: other requests are not held up", "[unit][mock]") {
  auto mock = StartMock();  // one io thread
  auto client = Client();
  std::atomic<int> order{0};
  std::atomic<int> slow_rank{0};
  std::atomic<int> fast_rank{0};
  auto slow = OpenAiPost(*mock, Chat("slow"));
  slow.headers.Add("x-mock-latency-ms", "400");
  auto start = std::chrono::steady_clock::now();
  client->Fetch(slow, [&](absl::StatusOr<http::ClientResponse> r) {
    if (r.ok() && r->status == 200) slow_rank = ++order;
  });
  client->Fetch(OpenAiPost(*mock, Chat("fast")), [&](absl::StatusOr<http::ClientResponse> r) {
    if (r.ok() && r->status == 200) fast_rank = ++order;
  });
  REQUIRE(http::testing::WaitFor([&] { return order.load() == 2; }));
  CHECK(fast_rank == 1);
  CHECK(slow_rank == 2);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(400));
}

TEST_CASE("stream pacing: TTFT and token delays", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto req = OpenAiPost(*mock, Chat("pace", true));
  req.headers.Add("x-mock-ttft-ms", "150");
  req.headers.Add("x-mock-token-delay-ms", "30");
  req.headers.Add("x-mock-tokens", "5");
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::atomic<bool> done{false};
  absl::Status result;
  http::ClientCallbacks cb;
  cb.on_body = [&](std::string_view) {
    std::lock_guard<std::mutex> lock(mu);
    arrivals.push_back(std::chrono::steady_clock::now());
  };
  cb.on_complete = [&](absl::Status s) {
    result = s;
    done = true;
  };
  auto start = std::chrono::steady_clock::now();
  client->Send(req, cb);
  REQUIRE(http::testing::WaitFor([&] { return done.load(); }));
  REQUIRE_THAT(result, IsOk());
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(!arrivals.empty());
  CHECK(arrivals.front() - start >= std::chrono::milliseconds(150));
  CHECK(arrivals.back() - start >= std::chrono::milliseconds(150 + 4 * 30));
  CHECK(arrivals.size() >= 5);  // paced chunks arrive as separate pieces
}

TEST_CASE("x-mock-cut-after closes the stream abruptly", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  for (auto [body, api] : {std::pair{Chat("cut", true), 0},
                           std::pair{std::string(R"({"model":"c","max_tokens":50,"stream":true,)"
                                                 R"("messages":[{"role":"user","content":"x"}]})"),
                                     1}}) {
    auto req = api == 0 ? OpenAiPost(*mock, body) : AnthropicPost(*mock, body);
    req.headers.Add("x-mock-cut-after", "3");
    std::string received;
    std::atomic<bool> done{false};
    absl::Status result;
    http::ClientCallbacks cb;
    cb.on_body = [&](std::string_view c) { received.append(c); };
    cb.on_complete = [&](absl::Status s) {
      result = s;
      done = true;
    };
    client->Send(req, cb);
    REQUIRE(http::testing::WaitFor([&] { return done.load(); }));
    CHECK_THAT(result, StatusIs(absl::StatusCode::kUnavailable, "before the response completed"));
    http::SseParser parser;
    std::vector<http::SseEvent> events;
    REQUIRE_THAT(parser.Feed(received, events), IsOk());
    int content = 0;
    for (const auto& e : events) {
      CHECK(e.data != "[DONE]");
      CHECK(e.event != "message_stop");
      if (e.data.find(R"("content":")") != std::string::npos &&
          e.data.find(R"("content":"")") == std::string::npos) {
        ++content;
      }
      if (e.event == "content_block_delta") ++content;
    }
    CHECK(content == 3);
  }
}

TEST_CASE("x-mock-hang never answers - the client's header timeout fires", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto req = OpenAiPost(*mock, Chat("[[mock:hang]]"));
  req.timeouts.headers = std::chrono::milliseconds(300);
  auto r = client->FetchBlocking(req);
  CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kDeadlineExceeded, "headers timeout"));
  // The mock still serves others, and shuts down cleanly with a hung request pending.
  auto hang2 = OpenAiPost(*mock, Chat("x"));
  hang2.headers.Add("x-mock-hang", "1");
  auto call = client->Send(hang2, {});
  CHECK(Fetch(*client, OpenAiPost(*mock, Chat("ok"))).status == 200);
  mock->Shutdown();
}

TEST_CASE("control parsing", "[unit][mock]") {
  http::Headers h{{"X-Mock-Status", "500"}, {"x-mock-latency-ms", "20"}, {"x-mock-hang", "true"}};
  auto c = ControlsFromHeaders(h);
  REQUIRE_THAT(c.status(), IsOk());
  CHECK(c->status == 500);
  CHECK(c->latency_ms == 20);
  CHECK(c->hang == true);
  CHECK_THAT(ControlsFromHeaders({{"x-mock-unknown", "1"}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "x-mock-unknown"));
  CHECK_THAT(ControlsFromHeaders({{"x-mock-status", "99"}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  auto d = ControlsFromDirectives("a [[mock:openai:tokens=2, cut_after=1]] b [[mock:hang]]",
                                  "openai");
  REQUIRE_THAT(d.status(), IsOk());
  CHECK(d->tokens == 2);
  CHECK(d->cut_after == 1);
  CHECK(d->hang == true);
  CHECK(ControlsFromDirectives("[[mock:groq:status=500]]", "openai")->empty());
  CHECK_FALSE(ControlsFromDirectives("[[mock:status=500", "openai").ok());
}

}  // namespace
}  // namespace p402::mock_provider
