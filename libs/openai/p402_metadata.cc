#include "libs/openai/p402_metadata.h"

#include <cmath>
#include <limits>

#include "libs/openai/usd_json.h"

namespace p402::openai {
namespace {

void WriteUsd(json::Writer& w, std::string_view key, MicroUsd micros) {
  w.Key(key);
  w.Raw(UsdFixed(micros));
}

MicroUsd SaturatingSub(MicroUsd a, MicroUsd b) {
  std::optional<MicroUsd> d = SubMoney(a, b);
  if (d) {
    return *d;
  }
  return a < b ? std::numeric_limits<MicroUsd>::min() : std::numeric_limits<MicroUsd>::max();
}

}  // namespace

void WriteP402Metadata(const P402Metadata& m, json::Writer& w) {
  w.BeginObject();
  w.Key("request_id");
  w.String(m.request_id);
  w.Key("tenant_id");
  w.String(m.tenant_id);
  w.Key("provider");
  w.String(m.provider);
  w.Key("model");
  w.String(m.model);
  MicroUsd savings = SaturatingSub(m.direct_cost_micro_usd, m.cost_micro_usd);
  WriteUsd(w, "cost_usd", m.cost_micro_usd);
  WriteUsd(w, "direct_cost", m.direct_cost_micro_usd);
  WriteUsd(w, "savings", savings);
  w.Key("cost_micro_usd");
  w.Int(m.cost_micro_usd);
  w.Key("direct_cost_micro_usd");
  w.Int(m.direct_cost_micro_usd);
  w.Key("savings_micro_usd");
  w.Int(savings);
  w.Key("cost_estimated");
  w.Bool(m.cost_estimated);
  w.Key("input_tokens");
  w.Int(m.input_tokens);
  w.Key("output_tokens");
  w.Int(m.output_tokens);
  w.Key("latency_ms");
  w.Int(m.latency_ms);
  w.Key("provider_latency_ms");
  w.Int(m.provider_latency_ms);
  w.Key("cached");
  w.Bool(m.cached);
  w.Key("routing_mode");
  w.String(m.routing_mode.empty() ? std::string_view("direct") : m.routing_mode);
  w.Key("attempts");
  w.BeginArray();
  for (const AttemptSummary& a : m.attempts) {
    w.BeginObject();
    w.Key("provider");
    w.String(a.provider);
    w.Key("model");
    w.String(a.model);
    w.Key("outcome");
    w.String(a.outcome);
    w.Key("http_status");
    w.Int(a.http_status);
    w.Key("latency_ms");
    w.Int(a.latency_ms);
    w.EndObject();
  }
  w.EndArray();
  if (m.cache_similarity && std::isfinite(*m.cache_similarity)) {
    w.Key("cache_similarity");
    w.Double(*m.cache_similarity);
  }
  if (m.cache_age_ms) {
    w.Key("cache_age_ms");
    w.Int(*m.cache_age_ms);
  }
  if (m.reservation_id) {
    w.Key("reservation_id");
    w.String(*m.reservation_id);
  }
  if (m.session_id) {
    w.Key("session_id");
    w.String(*m.session_id);
  }
  if (m.decision_id) {
    w.Key("decision_id");
    w.String(*m.decision_id);
  }
  if (m.max_tokens_reduced_to) {
    w.Key("max_tokens_reduced_to");
    w.Int(*m.max_tokens_reduced_to);
  }
  if (m.prepaid) {
    w.Key("prepaid");
    w.Bool(*m.prepaid);
  }
  if (m.payment) {
    const PaymentReceipt& p = *m.payment;
    w.Key("payment");
    w.BeginObject();
    w.Key("transaction");
    w.String(p.transaction);
    w.Key("network");
    w.String(p.network);
    w.Key("payer");
    w.String(p.payer);
    w.Key("amount_micro_usd");
    w.Int(p.amount_micro_usd);
    w.Key("charged_micro_usd");
    w.Int(p.charged_micro_usd);
    w.Key("fee_micro_usd");
    w.Int(p.fee_micro_usd);
    if (p.credit_micro_usd) {
      w.Key("credit_micro_usd");
      w.Int(*p.credit_micro_usd);
    }
    w.EndObject();
  }
  for (const auto& [key, raw] : m.extra_raw_json) {
    w.Key(key);
    w.Raw(raw);
  }
  w.EndObject();
}

std::vector<AttemptSummary> AttemptsFromDecision(const v1::RoutingDecision& decision) {
  std::vector<AttemptSummary> out;
  out.reserve(static_cast<size_t>(decision.attempts_size()));
  for (const v1::Attempt& a : decision.attempts()) {
    out.push_back(AttemptSummary{.provider = a.model().provider(),
                                 .model = a.model().model(),
                                 .outcome = std::string(AttemptOutcomeName(a.outcome())),
                                 .http_status = a.http_status(),
                                 .latency_ms = a.latency_ms()});
  }
  return out;
}

std::string_view AttemptOutcomeName(v1::AttemptOutcome outcome) {
  switch (outcome) {
    case v1::ATTEMPT_OUTCOME_SUCCESS:
      return "success";
    case v1::ATTEMPT_OUTCOME_CONNECT_ERROR:
      return "connect_error";
    case v1::ATTEMPT_OUTCOME_SERVER_ERROR:
      return "server_error";
    case v1::ATTEMPT_OUTCOME_RATE_LIMITED:
      return "rate_limited";
    case v1::ATTEMPT_OUTCOME_TIMEOUT:
      return "timeout";
    case v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED:
      return "stream_interrupted";
    case v1::ATTEMPT_OUTCOME_CLIENT_ERROR:
      return "client_error";
    case v1::ATTEMPT_OUTCOME_INVALID_RESPONSE:
      return "invalid_response";
    case v1::ATTEMPT_OUTCOME_CANCELLED:
      return "cancelled";
    case v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED:
      return "budget_exhausted";
    default:
      return "unspecified";
  }
}

}  // namespace p402::openai
