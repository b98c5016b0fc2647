// File: services/edge/core/catalog_view.h
// The edge's read-only copy of the router's catalog (Router.ListModels), pushed to the edge so
// that model validation and the worst-case cost estimate for the budget reservation cost no
// extra hop. Immutable once built; the edge swaps whole snapshots (shared_ptr) on refresh.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "libs/common/money.h"
#include "p402/v1/router.pb.h"

namespace p402::edge {

class CatalogView {
 public:
  explicit CatalogView(v1::ListModelsResponse models);

  // A model by "model" or "provider/model" (the first provider listing it when bare).
  // nullptr when unknown.
  const v1::ModelInfo* Find(std::string_view model) const;
  const std::vector<const v1::ModelInfo*>& available() const { return available_; }
  const v1::ListModelsResponse& models() const { return models_; }
  // Only the models the router can serve now (credentials and an adapter): GET /v1/models.
  const v1::ListModelsResponse& available_models() const { return available_models_; }

  // Worst-case cost of a request: input estimate x input price + max output x output price,
  // where max output is `max_tokens` or the model's output limit (4096 when unknown).
  static MicroUsd WorstCase(const v1::ModelInfo& model, int64_t input_tokens,
                            std::optional<int64_t> max_tokens);
  static int64_t MaxOutput(const v1::ModelInfo& model, std::optional<int64_t> max_tokens);

  // The reservation ceiling for a request routed by mode (the router may pick any available
  // model): the largest worst case over available models whose tier is allowed, capped by
  // `max_cost` when > 0. The router never picks a candidate above the ceiling it is given.
  // The lower of two tiers ("budget" < "mid" < "premium"; empty = no cap).
  static std::string_view LowerTier(std::string_view a, std::string_view b);

  MicroUsd ModeCeiling(int64_t input_tokens, std::optional<int64_t> max_tokens,
                       std::string_view max_tier, MicroUsd max_cost) const;

 private:
  v1::ListModelsResponse models_;
  v1::ListModelsResponse available_models_;
  absl::flat_hash_map<std::string, const v1::ModelInfo*> by_name_;
  std::vector<const v1::ModelInfo*> available_;
};

}  // namespace p402::edge
