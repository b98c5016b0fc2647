#include "tests/e2e/checks.h"

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "catch2/catch.hpp"
#include "tests/e2e/metrics_text.h"
#include "tests/support/test_env.h"

namespace p402::e2e {

Suite& SharedSuite() {
  // Destroyed at exit (after the last test), which stops the services.
  static std::unique_ptr<Suite> suite;
  static bool attempted = false;
  if (suite == nullptr) {
    // A failed start is not retried by every later test (each would wait out the timeouts).
    if (attempted) {
      FAIL("the shared e2e suite failed to start in an earlier test; see that failure");
    }
    attempted = true;
    suite = std::make_unique<Suite>();
  }
  suite->RequireAllAlive();
  return *suite;
}

std::string ChatBody(std::string_view model, std::string_view content, std::string_view extra) {
  json::Value body = json::Value::EmptyObject();
  body.Set("model", model);
  json::Value& messages = body.Set("messages", json::Value::EmptyArray());
  json::Value& msg = messages.Push(json::Value::EmptyObject());
  msg.Set("role", "user");
  msg.Set("content", content);
  std::string out = body.Serialize();
  if (!extra.empty()) {
    out.pop_back();  // '}'
    out += ",";
    out += extra;
    out += "}";
  }
  return out;
}

void CheckOpenAiError(const json::Value& body, std::string_view type, std::string_view code,
                      std::optional<std::string_view> param) {
  INFO("error body: " << body.Serialize());
  const json::Value* error = body.Find("error");
  REQUIRE(error != nullptr);
  REQUIRE(error->is_object());
  CHECK(!error->GetString("message").value_or("").empty());
  CHECK(error->GetString("type") == type);
  CHECK(error->GetString("code") == code);
  // OpenAI always sends both members, null when not applicable.
  CHECK(error->Find("param") != nullptr);
  CHECK(error->Find("code") != nullptr);
  if (param.has_value()) {
    CHECK(error->GetString("param") == *param);
  }
}

int64_t Micros(const json::Value& obj, std::string_view key) {
  std::optional<double> v = obj.GetDouble(key);
  INFO("member " << key << " of " << obj.Serialize());
  REQUIRE(v.has_value());
  return std::llround(*v * 1e6);
}

void CheckMetadata(const json::Value& meta) {
  INFO("p402_metadata: " << meta.Serialize());
  REQUIRE(meta.is_object());
  for (const char* key : {"request_id", "tenant_id", "provider", "model", "routing_mode"}) {
    INFO("member " << key);
    CHECK(!meta.GetString(key).value_or("").empty());
  }
  for (const char* key : {"input_tokens", "output_tokens", "latency_ms", "provider_latency_ms",
                          "cost_micro_usd", "direct_cost_micro_usd", "savings_micro_usd"}) {
    INFO("member " << key);
    REQUIRE(meta.Find(key) != nullptr);
    CHECK(meta.Find(key)->is_integer());
  }
  for (const char* key : {"cost_usd", "direct_cost", "savings"}) {
    INFO("member " << key);
    REQUIRE(meta.Find(key) != nullptr);
    CHECK(meta.Find(key)->is_number());
  }
  REQUIRE(meta.GetBool("cached").has_value());
  REQUIRE(meta.Find("attempts") != nullptr);
  CHECK(meta.Find("attempts")->is_array());
  CHECK(meta.GetInt("latency_ms").value_or(-1) >= meta.GetInt("provider_latency_ms").value_or(0));

  // cost = tokens x catalog price (each term rounded up to a micro-dollar).
  ModelPrice price = CatalogPrice(*meta.GetString("provider"), *meta.GetString("model"));
  int64_t expected = ExpectedCostMicros(price, meta.GetInt("input_tokens").value_or(-1),
                                        meta.GetInt("output_tokens").value_or(-1));
  CHECK(meta.GetInt("cost_micro_usd") == expected);
  CHECK(Micros(meta, "cost_usd") == expected);
  if (!meta.GetBool("cached").value_or(true)) {
    CHECK(expected > 0);
  }
  CHECK(Micros(meta, "savings") == Micros(meta, "direct_cost") - Micros(meta, "cost_usd"));
  CHECK(meta.GetInt("savings_micro_usd") == meta.GetInt("direct_cost_micro_usd").value_or(0) -
                                                meta.GetInt("cost_micro_usd").value_or(0));
}

double EdgeMetric(Suite& suite, std::string_view name,
                  const std::map<std::string, std::string>& labels) {
  return MetricValueOr0(suite.Metrics(), name, labels);
}

double AwaitEdgeMetric(Suite& suite, std::string_view name,
                       const std::map<std::string, std::string>& labels, double at_least) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  double value = EdgeMetric(suite, name, labels);
  while (value < at_least && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    value = EdgeMetric(suite, name, labels);
  }
  return value;
}

int64_t MockRequests(Suite& suite, std::string_view mock, std::string_view path) {
  json::Value stats = suite.MockStats(mock);
  const json::Value* by_path = stats.Find("by_path");
  return by_path != nullptr ? by_path->GetInt(path).value_or(0) : 0;
}

int64_t MockRequestsTotal(Suite& suite, std::string_view mock) {
  return suite.MockStats(mock).GetInt("requests_total").value_or(0);
}

ModelPrice CatalogPrice(std::string_view provider, std::string_view model) {
  std::string path = testing::SourceDir() + "/services/router/data/catalog.json";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto root = json::Value::Parse(ss.str());
  INFO("catalog " << path);
  REQUIRE(root.ok());
  const json::Value* p = root->Find(provider);
  const json::Value* models = p != nullptr ? p->Find("models") : nullptr;
  const json::Value* m = models != nullptr ? models->Find(model) : nullptr;
  const json::Value* cost = m != nullptr ? m->Find("cost") : nullptr;
  INFO("model " << provider << "/" << model);
  REQUIRE(cost != nullptr);
  REQUIRE(cost->GetDouble("input").has_value());
  REQUIRE(cost->GetDouble("output").has_value());
  return ModelPrice{*cost->GetDouble("input"), *cost->GetDouble("output")};
}

int64_t ExpectedCostMicros(const ModelPrice& price, int64_t input_tokens, int64_t output_tokens) {
  // USD per 1M tokens == micro-USD per token; per-1M micro prices are whole numbers.
  auto term = [](double usd_per_million, int64_t tokens) {
    int64_t micro_per_million = std::llround(usd_per_million * 1e6);
    return (tokens * micro_per_million + 999'999) / 1'000'000;
  };
  return term(price.input_per_million, input_tokens) +
         term(price.output_per_million, output_tokens);
}

}  // namespace p402::e2e
