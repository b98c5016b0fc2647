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
                                         {"direction"})),
      approval_waits_(&registry.AddCounterFamily(
          "p402_edge_approval_waits_total",
          "Requests held for approval, by how the wait ended", {"outcome"})),
      streams_cut_(&registry.AddCounterFamily(
          "p402_edge_streams_cut_total",
          "Streams the edge stopped itself (session revoked or expired, tenant paused)",
          {"reason"})),
      reservation_check_failed_(&registry.AddCounter(
          "p402_edge_reservation_check_failed_total",
          "CheckReservation calls that failed while a session's stream ran")) {}

void EdgeMetrics::CountRequest(std::string_view route, int status) {
  std::string code = std::to_string(status);
  requests_->WithLabels({route, std::string_view(code)}).Inc();
}

void EdgeMetrics::CountChat(std::string_view outcome) { chat_->WithLabels({outcome}).Inc(); }

void EdgeMetrics::CountApprovalWait(std::string_view outcome) {
  approval_waits_->WithLabels({outcome}).Inc();
}

void EdgeMetrics::CountStreamCut(std::string_view reason) {
  // Keep the label set closed: the reason comes from another service.
  constexpr std::string_view kKnown[] = {"session_revoked", "session_expired", "tenant_paused",
                                         "reservation_finalized"};
  std::string_view label = "other";
  for (std::string_view k : kKnown) {
    if (reason == k) label = k;
  }
  streams_cut_->WithLabels({label}).Inc();
}

void EdgeMetrics::AddTokens(int64_t input, int64_t output) {
  tokens_->WithLabels({std::string_view("input")}).Inc(input > 0 ? input : 0);
  tokens_->WithLabels({std::string_view("output")}).Inc(output > 0 ? output : 0);
}

}  // namespace p402::edge
