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
          "Commit/Release calls policy refused (not found, released, invalid); not retried")),
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
          "CheckReservation calls that failed while a session's stream ran")),
      payments_(&registry.AddCounterFamily(
          "p402_edge_x402_payments_total",
          "x402 pay-per-call payments at the edge, by step outcome", {"outcome"})),
      prepaid_(&registry.AddCounterFamily(
          "p402_edge_prepaid_total",
          "Prepaid balance holds, captures and releases at the edge, by outcome", {"outcome"})) {
  auto& retries = registry.AddCounterFamily(
      "p402_edge_settle_retries_total",
      "Commit/Release retries after a transient policy failure, by op", {"op"});
  auto& failed = registry.AddCounterFamily(
      "p402_edge_settle_failed_total",
      "Commit/Release calls given up on after the retry budget or at shutdown, by op", {"op"});
  // Created up front so both series read 0 before the first failure (alerts need them).
  settle_retries_[0] = &retries.WithLabels({std::string_view("commit")});
  settle_retries_[1] = &retries.WithLabels({std::string_view("release")});
  settle_failed_[0] = &failed.WithLabels({std::string_view("commit")});
  settle_failed_[1] = &failed.WithLabels({std::string_view("release")});
}

void EdgeMetrics::CountSettleRetry(std::string_view op) {
  settle_retries_[op == "commit" ? 0 : 1]->Inc();
}

void EdgeMetrics::CountSettleFailed(std::string_view op) {
  settle_failed_[op == "commit" ? 0 : 1]->Inc();
}

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

void EdgeMetrics::CountPayment(std::string_view outcome) {
  constexpr std::string_view kKnown[] = {"required",      "invalid",  "verified",   "settled",
                                         "settle_failed", "released", "unavailable"};
  std::string_view label = "other";
  for (std::string_view k : kKnown) {
    if (outcome == k) label = k;
  }
  payments_->WithLabels({label}).Inc();
}

void EdgeMetrics::CountPrepaid(std::string_view outcome) {
  constexpr std::string_view kKnown[] = {"held", "postpaid", "insufficient", "captured",
                                         "released", "capture_failed", "release_failed",
                                         "unavailable"};
  std::string_view label = "other";
  for (std::string_view k : kKnown) {
    if (outcome == k) label = k;
  }
  prepaid_->WithLabels({label}).Inc();
}

void EdgeMetrics::AddTokens(int64_t input, int64_t output) {
  tokens_->WithLabels({std::string_view("input")}).Inc(input > 0 ? input : 0);
  tokens_->WithLabels({std::string_view("output")}).Inc(output > 0 ? output : 0);
}

}  // namespace p402::edge
