#include "services/policy/core/guard_chain.h"

#include <array>
#include <string>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

constexpr std::array<std::string_view, 6> kCanonicalOrder = {kLayerRateLimit,   kLayerDailyLimit,
                                                             kLayerConcurrency, kLayerAnomaly,
                                                             kLayerRequestCap,  kLayerReservation};

v1::GuardLayerResult Result(std::string_view layer, bool passed, std::string_view code,
                            bool failed_open) {
  v1::GuardLayerResult r;
  r.set_layer(std::string(layer));
  r.set_passed(passed);
  r.set_code(std::string(code));
  r.set_failed_open(failed_open);
  return r;
}

}  // namespace

std::optional<int> LayerRank(std::string_view name) {
  for (size_t i = 0; i < kCanonicalOrder.size(); ++i) {
    if (kCanonicalOrder[i] == name) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

GuardChain::GuardChain(std::vector<std::unique_ptr<GuardLayer>> layers)
    : layers_(std::move(layers)) {
  int last_rank = -1;
  for (const auto& layer : layers_) {
    P402_CHECK(layer != nullptr);
    std::optional<int> rank = LayerRank(layer->name());
    P402_CHECK(rank.has_value());
    P402_CHECK(*rank > last_rank);
    last_rank = *rank;
  }
}

absl::StatusOr<ChainVerdict> GuardChain::Run(GuardContext& ctx) const {
  ChainVerdict verdict;
  verdict.layers.reserve(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    GuardLayer& layer = *layers_[i];
    absl::StatusOr<LayerOutcome> outcome = layer.Evaluate(ctx);
    if (!outcome.ok()) {
      if (layer.failure_mode() == GuardLayer::FailureMode::kFailOpen) {
        // Layers 1-4 protect the service, not the money: an outage of their store must not take
        // all traffic down with it.
        P402_LOG(kWarn, "guard layer failed open")
            .Field("layer", layer.name())
            .Field("error", MessageOf(outcome.status()));
        verdict.layers.push_back(Result(layer.name(), true, "store_unavailable", true));
        continue;
      }
      AbandonPassed(ctx, i);
      return outcome.status();
    }
    verdict.layers.push_back(Result(layer.name(), outcome->passed, outcome->code, false));
    if (!outcome->passed) {
      AbandonPassed(ctx, i);
      verdict.allowed = false;
      verdict.denial = *std::move(outcome);
      return verdict;
    }
  }
  verdict.allowed = true;
  return verdict;
}

void GuardChain::NotifyFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                                bool failed) const {
  for (const auto& layer : layers_) {
    layer->OnFinished(reservation, charged_micro_usd, failed);
  }
}

void GuardChain::NotifyAdmitted(const GuardContext& ctx) const {
  for (const auto& layer : layers_) {
    layer->OnAdmitted(ctx);
  }
}

void GuardChain::AbandonPassed(const GuardContext& ctx, size_t passed_count) const {
  for (size_t i = passed_count; i > 0; --i) {
    layers_[i - 1]->Abandon(ctx);
  }
}

}  // namespace p402::policy
