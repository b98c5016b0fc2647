#include "services/policy/core/anomaly_layer.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"

namespace p402::policy {
namespace {

// A mean of micro-USD as a dollar string (the mean is a double; money is printed exactly).
std::string FormatMeanUsd(double micros) {
  if (!(std::fabs(micros) < 9.0e18)) {
    return "?";
  }
  return FormatUsd(static_cast<MicroUsd>(std::llround(micros)));
}

std::string FormatSigma(double z) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", z);
  return buf;
}

}  // namespace

absl::StatusOr<LayerOutcome> AnomalyLayer::Evaluate(GuardContext& ctx) {
  const MicroUsd cost = ctx.worst_case_micro_usd;
  const double value = static_cast<double>(cost);
  P402_ASSIGN_OR_RETURN(
      SampleStats history,
      counters_.ObserveSample("an:" + ctx.tenant->id, value, history_size_, kAnomalyHistoryTtlMs));
  const int32_t threshold_centi = ctx.limits.anomaly_zscore_centi;
  if (threshold_centi <= 0 || history.count < min_samples_ || history.count < 2) {
    return LayerOutcome::Pass();
  }
  const double variance = history.m2 / static_cast<double>(history.count - 1);
  const double stddev = variance > 0 ? std::sqrt(variance) : 0.0;
  if (!(stddev > 0) || !std::isfinite(stddev)) {
    return LayerOutcome::Pass();
  }
  const double z = (value - history.mean) / stddev;
  if (!(z >= threshold_centi / 100.0)) {
    return LayerOutcome::Pass();
  }

  const std::string message = "estimated cost $" + FormatUsd(cost) + " is " + FormatSigma(z) +
                              " sigma above the mean $" + FormatMeanUsd(history.mean);
  const std::string& request_id = ctx.request->meta().request_id();
  P402_LOG(kWarn, "anomalous request cost")
      .RequestId(request_id)
      .Field("tenant_id", ctx.tenant->id)
      .Field("worst_case_micro_usd", cost)
      .Field("mean_micro_usd", history.mean)
      .Field("stddev_micro_usd", stddev)
      .Field("zscore", z)
      .Field("samples", history.count);
  alerts_.Emit(AlertEvent{.kind = "anomaly_zscore",
                          .tenant_id = ctx.tenant->id,
                          .session_id = ctx.session != nullptr ? ctx.session->id : "",
                          .request_id = request_id,
                          .message = message,
                          .unix_ms = ctx.now_unix_ms});
  return LayerOutcome::PassFlagged("anomaly_zscore");
}

}  // namespace p402::policy
