// File: services/policy/core/guard_chain.h
// GuardChain: the ordered list of guard layers (guard_layer.h) and the loop that runs them for one
// request, applying each layer's failure mode and recording a GuardLayerResult per layer.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// What the chain decided for one request.
struct ChainVerdict {
  // True when every layer passed (or failed open).
  bool allowed = false;
  // The first denial when !allowed.
  LayerOutcome denial;
  // Layers evaluated, in order; the last one is the denying layer when !allowed.
  std::vector<v1::GuardLayerResult> layers;
};

class GuardChain {
 public:
  // Takes ownership of `layers`. Precondition (P402_CHECK, a wiring bug otherwise): every layer
  // has a canonical name (kLayer*), each appears at most once, and they are in canonical order,
  // so the reservation (which holds money) is always taken last.
  explicit GuardChain(std::vector<std::unique_ptr<GuardLayer>> layers);

  // Runs the layers in order on `ctx` and stops at the first denial; the layers that passed
  // before it are abandoned (GuardLayer::Abandon), newest first. A layer error is recorded as
  // failed_open and skipped when the layer fails open; otherwise the passed layers are abandoned
  // and the error returned (the caller fails closed). Thread-safe when the layers are.
  absl::StatusOr<ChainVerdict> Run(GuardContext& ctx) const;

  // Tells every layer that an admitted request finished (GuardLayer::OnFinished).
  void NotifyFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                      bool failed) const;
  // Tells every layer that the request was admitted (GuardLayer::OnAdmitted).
  void NotifyAdmitted(const GuardContext& ctx) const;

  size_t size() const { return layers_.size(); }

 private:
  void AbandonPassed(const GuardContext& ctx, size_t passed_count) const;

  std::vector<std::unique_ptr<GuardLayer>> layers_;
};

}  // namespace p402::policy
