#include "services/policy/adapters/log_alert_sink.h"

#include <string_view>

#include "libs/common/log.h"

namespace p402::policy {
namespace {

// Kinds are program constants; anything else is counted under one label so a bad caller cannot
// grow the metric's cardinality.
std::string_view KindLabel(std::string_view kind) {
  for (std::string_view known : {"anomaly_zscore", "spend_limit_alert", "kill_switch_tripped",
                                 "session_exhausted", "approval_requested"}) {
    if (kind == known) {
      return known;
    }
  }
  return "other";
}

}  // namespace

LogAlertSink::LogAlertSink(metrics::Registry& registry)
    : alerts_(registry.AddCounterFamily("p402_policy_alerts_total",
                                        "Guard alert events (soft: they never block) by kind",
                                        {"kind"})) {}

void LogAlertSink::Emit(const AlertEvent& event) {
  alerts_.WithLabels({KindLabel(event.kind)}).Inc();
  auto line = P402_LOG(kWarn, "guard alert");
  line.Field("kind", event.kind).Field("tenant_id", event.tenant_id);
  if (!event.session_id.empty()) {
    line.Field("session_id", event.session_id);
  }
  if (!event.request_id.empty()) {
    line.RequestId(event.request_id);
  }
  line.Field("detail", event.message).Field("unix_ms", event.unix_ms);
}

}  // namespace p402::policy
