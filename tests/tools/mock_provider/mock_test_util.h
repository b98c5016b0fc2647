// File: tests/tools/mock_provider/mock_test_util.h
// Helpers for the mock-provider tests: start a mock, call it with HttpClient, parse JSON and SSE.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "libs/http/sse.h"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"
#include "tools/mock_provider/mock_provider.h"

namespace p402::mock_provider::testing {

inline std::unique_ptr<MockProvider> StartMock(std::string name = "openai") {
  MockOptions options;
  options.name = std::move(name);
  auto mock = MockProvider::Start(options);
  REQUIRE_THAT(mock.status(), p402::testing::IsOk());
  return std::move(*mock);
}

inline std::unique_ptr<http::HttpClient> Client() {
  auto client = http::HttpClient::Create();
  REQUIRE_THAT(client.status(), p402::testing::IsOk());
  return std::move(*client);
}

inline http::ClientRequest OpenAiPost(const MockProvider& mock, std::string body,
                                      std::string path = "/v1/chat/completions") {
  http::ClientRequest r;
  r.method = "POST";
  r.url = mock.base_url() + path;
  r.headers.Add("Authorization", "Bearer sk-test-secret");
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  r.timeouts.total = std::chrono::seconds(10);
  return r;
}

inline http::ClientRequest AnthropicPost(const MockProvider& mock, std::string body) {
  http::ClientRequest r;
  r.method = "POST";
  r.url = mock.base_url() + "/v1/messages";
  r.headers.Add("x-api-key", "sk-ant-test");
  r.headers.Add("anthropic-version", "2023-06-01");
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  r.timeouts.total = std::chrono::seconds(10);
  return r;
}

inline http::ClientResponse Fetch(http::HttpClient& client, const http::ClientRequest& req) {
  auto resp = client.FetchBlocking(req);
  REQUIRE_THAT(resp.status(), p402::testing::IsOk());
  return std::move(*resp);
}

inline json::Value ParseJson(const std::string& text) {
  auto v = json::Value::Parse(text);
  INFO(text);
  REQUIRE_THAT(v.status(), p402::testing::IsOk());
  return std::move(*v);
}

inline std::vector<http::SseEvent> ParseSse(const std::string& text) {
  http::SseParser parser;
  std::vector<http::SseEvent> events;
  REQUIRE_THAT(parser.Feed(text, events), p402::testing::IsOk());
  CHECK_FALSE(parser.has_partial());
  return events;
}

// Integer at a '/'-separated path of object keys and array indexes ("usage/prompt_tokens").
inline const json::Value& At(const json::Value& v, std::string_view path) {
  const json::Value* cur = &v;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view key = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (cur->is_array()) {
      size_t idx = static_cast<size_t>(std::stoul(std::string(key)));
      REQUIRE(idx < cur->AsArray().size());
      cur = &cur->AsArray()[idx];
    } else {
      const json::Value* next = cur->Find(key);
      INFO("missing key " << key);
      REQUIRE(next != nullptr);
      cur = next;
    }
  }
  return *cur;
}

}  // namespace p402::mock_provider::testing
