// File: services/router/adapters/router_metrics.h
// The router's Prometheus metrics, registered once on a Registry and shared by the gRPC adapter
// (requests) and the HTTP executor (attempts, failovers, latency, circuits, calls in flight).
// Names and labels are listed in services/router/README.md ("Metrics").
#pragma once

#include <string>
#include <string_view>

#include "libs/metrics/registry.h"
#include "p402/v1/router.pb.h"

namespace p402::router {

struct RouterMetrics {
  // Registers (idempotently) every router metric on `registry`, which must outlive this.
  explicit RouterMetrics(metrics::Registry& registry);

  metrics::CounterFamily& requests;     // p402_router_requests_total{rpc,code}
  metrics::CounterFamily& attempts;     // p402_router_attempts_total{provider,outcome}
  metrics::Counter& failovers;          // p402_router_failovers_total
  metrics::HistogramFamily& latency;    // p402_router_provider_latency_seconds{provider}
  metrics::GaugeFamily& circuit;        // p402_router_circuit_state{provider}
  metrics::Gauge& calls_in_flight;      // p402_router_provider_calls_in_flight
  metrics::CounterFamily& stream_ends;  // p402_router_stream_ends_total{reason}
};

// "success", "server_error", ... (the enum name without its prefix, lower case).
std::string OutcomeLabel(v1::AttemptOutcome outcome);

}  // namespace p402::router
