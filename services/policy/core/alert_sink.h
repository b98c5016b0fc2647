// File: services/policy/core/alert_sink.h
// AlertSink: where the guard reports events that need a human or the intelligence service but do
// not block the request by themselves: an anomalous estimated cost (layer 4), a spending policy
// with action "alert" crossing its limit, a kill switch tripping, a session running out. The
// composition root wires a sink that logs, counts in /metrics and (later) forwards to the
// intelligence service. Emit must not block and must not fail the request.
#pragma once

#include <cstdint>
#include <string>

namespace p402::policy {

struct AlertEvent {
  // "anomaly_zscore", "spend_limit_alert", "kill_switch_tripped", "session_exhausted",
  // "approval_requested".
  std::string kind;
  std::string tenant_id;
  std::string session_id;  // may be empty
  std::string request_id;  // may be empty
  // Human-readable detail, e.g. "estimated cost $4.20 is 5.1 sigma above the mean $0.02".
  std::string message;
  int64_t unix_ms = 0;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Thread-safe, non-blocking.
  virtual void Emit(const AlertEvent& event) = 0;
};

}  // namespace p402::policy
