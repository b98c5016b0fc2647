#include "services/edge/core/edge_metrics.h"

#include <string>

namespace p402::edge {

EdgeMetrics::EdgeMetrics(metrics::Registry& registry)
    : requests_(&registry.AddCounterFamily("p402_edge_requests_total",
                                           "HTTP requests answered, by route and status",
                                           {"route", "code"})),
      chat_(&registry.AddCounterFamily("p402_edge_chat_completions_total",
                                       "Chat completions by outcome", {"outcome"})),
      policy_failure_mode_denied_(&registry.AddCounter(
          "p402_edge_policy_failure_mode_denied_total",
          "Requests denied because the policy service could not decide (fail closed)")),
      finalize_failed_(&registry.AddCounter(
          "p402_edge_reservation_finalize_failed_total",
          "Commit/Release calls that failed; the reservation expires by TTL")),
      latency_(&registry.AddHistogram("p402_edge_chat_latency_seconds",
                                      "End-to-end chat completion latency at the edge")),
      cost_micro_usd_(&registry.AddCounter("p402_edge_cost_micro_usd_total",
                                           "Provider cost of delivered tokens, micro-USD")),
      tokens_(&registry.AddCounterFamily("p402_edge_tokens_total", "Tokens billed, by direction",
                                         {"direction"})) {}

void EdgeMetrics::CountRequest(std::string_view route, int status) {
  std::string code = std::to_string(status);
  requests_->WithLabels({route, std::string_view(code)}).Inc();
}

void EdgeMetrics::CountChat(std::string_view outcome) { chat_->WithLabels({outcome}).Inc(); }

void EdgeMetrics::AddTokens(int64_t input, int64_t output) {
  tokens_->WithLabels({std::string_view("input")}).Inc(input > 0 ? input : 0);
  tokens_->WithLabels({std::string_view("output")}).Inc(output > 0 ? output : 0);
}

}  // namespace p402::edge
