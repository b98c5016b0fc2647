#include "services/edge/core/catalog_view.h"

#include <algorithm>

#include "libs/common/strings.h"

namespace p402::edge {
namespace {

int TierRank(std::string_view tier) {
  if (tier == "budget") return 0;
  if (tier == "mid") return 1;
  if (tier == "premium") return 2;
  return 2;
}

}  // namespace

CatalogView::CatalogView(v1::ListModelsResponse models) : models_(std::move(models)) {
  for (const v1::ModelInfo& m : models_.models()) {
    by_name_.try_emplace(m.ref().provider() + "/" + m.ref().model(), &m);
    // Bare ids resolve to the first provider in catalog order that is available, else the first.
    auto [it, inserted] = by_name_.try_emplace(m.ref().model(), &m);
    if (!inserted && !it->second->available() && m.available()) {
      it->second = &m;
    }
    if (m.available()) {
      available_.push_back(&m);
      *available_models_.add_models() = m;
    }
  }
}

const v1::ModelInfo* CatalogView::Find(std::string_view model) const {
  auto it = by_name_.find(ToAbsl(model));
  return it == by_name_.end() ? nullptr : it->second;
}

int64_t CatalogView::MaxOutput(const v1::ModelInfo& model, std::optional<int64_t> max_tokens) {
  int64_t limit = model.max_output_tokens() > 0 ? model.max_output_tokens() : 4096;
  return max_tokens ? std::min(*max_tokens, limit) : limit;
}

MicroUsd CatalogView::WorstCase(const v1::ModelInfo& model, int64_t input_tokens,
                                std::optional<int64_t> max_tokens) {
  MicroUsd input = TokenCost(input_tokens, model.prices().input_per_mtok_micro_usd());
  MicroUsd output =
      TokenCost(MaxOutput(model, max_tokens), model.prices().output_per_mtok_micro_usd());
  return AddMoney(input, output).value_or(INT64_MAX);
}

std::string_view CatalogView::LowerTier(std::string_view a, std::string_view b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return TierRank(a) <= TierRank(b) ? a : b;
}

MicroUsd CatalogView::ModeCeiling(int64_t input_tokens, std::optional<int64_t> max_tokens,
                                  std::string_view max_tier, MicroUsd max_cost) const {
  MicroUsd ceiling = 0;
  int tier_cap = max_tier.empty() ? 2 : TierRank(max_tier);
  for (const v1::ModelInfo* m : available_) {
    if (TierRank(m->tier()) > tier_cap) {
      continue;
    }
    MicroUsd worst = WorstCase(*m, input_tokens, max_tokens);
    if (max_cost > 0 && worst > max_cost) {
      continue;
    }
    ceiling = std::max(ceiling, worst);
  }
  return ceiling;
}

}  // namespace p402::edge
