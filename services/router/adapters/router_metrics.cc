#include "services/router/adapters/router_metrics.h"

#include <cctype>

namespace p402::router {

RouterMetrics::RouterMetrics(metrics::Registry& registry)
    : requests(registry.AddCounterFamily("p402_router_requests_total",
                                         "Router RPCs by method and gRPC status code",
                                         {"rpc", "code"})),
      attempts(registry.AddCounterFamily("p402_router_attempts_total",
                                         "Provider calls by provider and outcome",
                                         {"provider", "outcome"})),
      failovers(registry.AddCounter("p402_router_failovers_total",
                                    "Switches to another candidate after a failed attempt")),
      latency(registry.AddHistogramFamily(
          "p402_router_provider_latency_seconds",
          "Provider time to the full answer (unary) or first token (streams)", {"provider"})),
      circuit(registry.AddGaugeFamily("p402_router_circuit_state",
                                      "Circuit breaker per provider: 0 closed, 1 half-open, 2 "
                                      "open (as of its last attempt)",
                                      {"provider"})),
      calls_in_flight(registry.AddGauge("p402_router_provider_calls_in_flight",
                                        "Provider HTTP calls started and not yet completed")),
      stream_ends(registry.AddCounterFamily(
          "p402_router_stream_ends_total",
          "StreamRoute streams that sent their end event, by end reason (\"ok\" when clean)",
          {"reason"})) {}

std::string OutcomeLabel(v1::AttemptOutcome outcome) {
  std::string name = v1::AttemptOutcome_Name(outcome);
  constexpr std::string_view kPrefix = "ATTEMPT_OUTCOME_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  if (name.empty()) name = "unknown";
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace p402::router
