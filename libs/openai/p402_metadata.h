// File: libs/openai/p402_metadata.h
// The `p402_metadata` object P402 adds to every chat response (step 5 of the request lifecycle):
// who answered, what it cost (exact decimal USD from integer micro-USD, never floating point),
// tokens, latencies, cache disclosure and the attempt chain. The edge fills P402Metadata from the
// policy, router and cache answers; chat_response.h writes it into completions, final stream
// chunks and stream error events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/common/money.h"
#include "libs/json/value.h"
#include "p402/v1/router.pb.h"

namespace p402::openai {

struct AttemptSummary {
  std::string provider;
  std::string model;
  // AttemptOutcomeName(): "success", "rate_limited", "server_error", ...
  std::string outcome;
  // Provider HTTP status; 0 when none was received.
  int32_t http_status = 0;
  int64_t latency_ms = 0;
};

// The x402 payment that paid for a pay-per-call request (settlement's SettlePaymentResponse plus
// the edge's split of the amount). Written as the "payment" member of p402_metadata.
struct PaymentReceipt {
  // Settlement transaction hash (0x...).
  std::string transaction;
  // Network in the form of the payment's x402 version ("base" / "eip155:8453").
  std::string network;
  // Payer address (0x, EIP-55).
  std::string payer;
  // What the payer transferred (the offer's amount: worst-case model cost + fee), micro-USD.
  MicroUsd amount_micro_usd = 0;
  // What the request was charged (provider cost + fee; the whole amount for streams, settled
  // before their cost is known), micro-USD.
  MicroUsd charged_micro_usd = 0;
  // P402's platform fee included in the amount, micro-USD.
  MicroUsd fee_micro_usd = 0;
  // amount - charged, kept as the payer's prepaid credit; unset when nothing is left over.
  std::optional<MicroUsd> credit_micro_usd;
};

struct P402Metadata {
  std::string request_id;
  std::string tenant_id;
  // Provider and model that produced the answer (for a cache hit: of the original call).
  std::string provider;
  std::string model;
  // What P402 charged for this call, and what the same tokens cost on the requested/reference
  // model. Written as cost_usd / direct_cost / savings (JSON numbers with exactly 6 decimals) and
  // cost_micro_usd / direct_cost_micro_usd / savings_micro_usd (integers);
  // savings = direct_cost - cost (negative when the routed model was dearer).
  MicroUsd cost_micro_usd = 0;
  MicroUsd direct_cost_micro_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  // End to end at the edge, and the provider call alone.
  int64_t latency_ms = 0;
  int64_t provider_latency_ms = 0;
  // Served from the semantic cache.
  bool cached = false;
  // RoutingModeName(): "cost", "quality", "speed", "balanced", "custom", or "" -> "direct".
  std::string routing_mode;
  // True when usage (hence cost) was estimated because the provider reported none.
  bool cost_estimated = false;
  // Every provider call made, in order (empty for cache hits).
  std::vector<AttemptSummary> attempts;
  // Cache hit disclosure.
  std::optional<double> cache_similarity;
  std::optional<int64_t> cache_age_ms;
  std::optional<std::string> reservation_id;
  // Agent session the request spent from (AuthorizeResponse.session_id); unset = none.
  std::optional<std::string> session_id;
  std::optional<std::string> decision_id;
  // Set when the billing guard lowered max_tokens to fit the remaining budget.
  std::optional<int64_t> max_tokens_reduced_to;
  // Set for requests paid with x402 (pay-per-call): written as "payment": {transaction, network,
  // payer, amount_micro_usd, charged_micro_usd, fee_micro_usd, credit_micro_usd?}.
  std::optional<PaymentReceipt> payment;
  // Set when the request spent a prepaid balance (a hold was taken on the caller's account before
  // dispatch; the capture of the actual cost is asynchronous): written as "prepaid": <bool>.
  std::optional<bool> prepaid;
  // Further members written verbatim after the fixed ones, e.g. {"payment", <receipt JSON>}.
  // Each value must be one serialised JSON value (the caller's responsibility).
  std::vector<std::pair<std::string, std::string>> extra_raw_json;
};

// Writes the metadata as one JSON object value at the writer's current position (after a Key, or
// as an array element). Thread-safe for distinct writers.
void WriteP402Metadata(const P402Metadata& m, json::Writer& w);

// Fills attempts from a routing decision (provider, model, outcome name, status, latency).
std::vector<AttemptSummary> AttemptsFromDecision(const p402::v1::RoutingDecision& decision);

// "success", "connect_error", "server_error", "rate_limited", "timeout", "stream_interrupted",
// "client_error", "invalid_response", "cancelled", "budget_exhausted"; "unspecified" otherwise.
std::string_view AttemptOutcomeName(p402::v1::AttemptOutcome outcome);

}  // namespace p402::openai
