// File: services/policy/adapters/log_alert_sink.h
// LogAlertSink: the AlertSink (core/alert_sink.h) of p402-policy. Each alert event (anomalous
// estimate, spend-limit alert, kill switch tripped, approval requested, ...) becomes one warning
// log line with its fields and one increment of p402_policy_alerts_total{kind}. Forwarding to the
// intelligence service comes later. Never blocks on anything but the logger; never fails.
#pragma once

#include "libs/metrics/registry.h"
#include "services/policy/core/alert_sink.h"

namespace p402::policy {

class LogAlertSink final : public AlertSink {
 public:
  // Registers p402_policy_alerts_total{kind} in `registry`, which must outlive the sink.
  explicit LogAlertSink(metrics::Registry& registry);

  // AlertSink. Thread-safe.
  void Emit(const AlertEvent& event) override;

 private:
  metrics::CounterFamily& alerts_;
};

}  // namespace p402::policy
