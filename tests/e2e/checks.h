// File: tests/e2e/checks.h
// Assertions and fixtures shared by the [e2e] scenario files: the suite shared by the whole test
// binary, OpenAI error-body checks, p402_metadata checks (cost = tokens x catalog price), and
// polling reads of counters (edge /metrics, mock stats).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "libs/json/value.h"
#include "tests/e2e/harness.h"

namespace p402::e2e {

// One Suite with default options, started by the first test that asks and reused by later ones
// (starting the services takes a while). FAILs like Suite() on startup problems, and with log
// tails when one of its processes has died since.
Suite& SharedSuite();

// {"model":model,"messages":[{"role":"user","content":content}]<,extra members>}; `extra` is
// JSON members without braces, e.g. R"("stream":true)".
std::string ChatBody(std::string_view model, std::string_view content, std::string_view extra = "");

// CHECKs that `body` is an OpenAI error object {"error":{"message":<non-empty string>,"type",
// "param","code"}} with the given type and code (and param when given; nullopt = not checked).
void CheckOpenAiError(const json::Value& body, std::string_view type, std::string_view code,
                      std::optional<std::string_view> param = std::nullopt);

// CHECKs the members every p402_metadata must have, with their JSON types, and the cost rule:
// cost_micro_usd == ExpectedCostMicros(catalog price of provider/model, input, output tokens),
// cost_usd == cost_micro_usd / 1e6, savings == direct_cost - cost_usd.
void CheckMetadata(const json::Value& meta);

// Money members as integer micro-USD (JSON numbers with 6 decimals, rounded).
int64_t Micros(const json::Value& obj, std::string_view key);

// Prices of a catalog model (services/router/data/catalog.json), USD per 1M tokens. FAILs when
// the model is not in the catalog.
struct ModelPrice {
  double input_per_million = 0;
  double output_per_million = 0;
};
ModelPrice CatalogPrice(std::string_view provider, std::string_view model);

// Expected cost in micro-USD, the way services/router/core/cost.h bills (computed independently
// here): price -> micro-USD per 1M tokens, each term rounded UP to a whole micro-dollar.
int64_t ExpectedCostMicros(const ModelPrice& price, int64_t input_tokens, int64_t output_tokens);

// Edge counter read: MetricValueOr0 of the current /metrics.
double EdgeMetric(Suite& suite, std::string_view name,
                  const std::map<std::string, std::string>& labels = {});
// Polls the edge /metrics (5 s) until name{labels} >= at_least; returns the last value read.
// Counters may be bumped just after the response is sent.
double AwaitEdgeMetric(Suite& suite, std::string_view name,
                       const std::map<std::string, std::string>& labels, double at_least);

// Mock counters from GET /__mock/stats: requests to `path` (0 when absent).
int64_t MockRequests(Suite& suite, std::string_view mock, std::string_view path);
int64_t MockRequestsTotal(Suite& suite, std::string_view mock);

}  // namespace p402::e2e
