#include "services/router/core/catalog.h"

#include <algorithm>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::router {
namespace {

std::string Key(std::string_view provider, std::string_view model) {
  std::string key;
  key.reserve(provider.size() + model.size() + 1);
  key.append(provider).append("\n").append(model);
  return key;
}

}  // namespace

std::optional<Tier> ParseTier(std::string_view name) {
  if (name == "budget") return Tier::kBudget;
  if (name == "mid") return Tier::kMid;
  if (name == "premium") return Tier::kPremium;
  return std::nullopt;
}

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kBudget:
      return "budget";
    case Tier::kMid:
      return "mid";
    case Tier::kPremium:
      return "premium";
  }
  return "mid";
}

std::optional<AuthStyle> ParseAuthStyle(std::string_view name) {
  if (name == "bearer") return AuthStyle::kBearer;
  if (name == "x-api-key") return AuthStyle::kXApiKey;
  if (name == "api-key") return AuthStyle::kApiKey;
  if (name == "query-key") return AuthStyle::kQueryKey;
  if (name == "sigv4") return AuthStyle::kSigV4;
  if (name == "none") return AuthStyle::kNone;
  return std::nullopt;
}

bool IsSupportedProtocol(std::string_view protocol) {
  return protocol == "openai" || protocol == "anthropic";
}

v1::ModelPrices ToProto(const Prices& prices) {
  v1::ModelPrices out;
  out.set_input_per_mtok_micro_usd(prices.input);
  out.set_output_per_mtok_micro_usd(prices.output);
  out.set_cache_read_per_mtok_micro_usd(prices.cache_read);
  out.set_cache_write_per_mtok_micro_usd(prices.cache_write);
  return out;
}

bool ModelEntry::HasCapability(std::string_view capability) const {
  return std::binary_search(capabilities.begin(), capabilities.end(), capability);
}

void Catalog::BuildIndexes() {
  provider_index_.clear();
  model_index_.clear();
  name_index_.clear();
  for (size_t i = 0; i < providers_.size(); ++i) {
    provider_index_.emplace(providers_[i].id, i);
  }
  for (size_t i = 0; i < models_.size(); ++i) {
    const ModelEntry& m = models_[i];
    model_index_.emplace(Key(m.provider, m.id), i);
    name_index_[m.id].push_back(i);
    if (m.canonical != m.id) {
      name_index_[m.canonical].push_back(i);
    }
  }
  for (auto& [name, list] : name_index_) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
}

const ProviderInfo* Catalog::FindProvider(std::string_view provider) const {
  auto it = provider_index_.find(provider);
  return it == provider_index_.end() ? nullptr : &providers_[it->second];
}

const ModelEntry* Catalog::FindModel(std::string_view provider, std::string_view model) const {
  auto it = model_index_.find(Key(provider, model));
  return it == model_index_.end() ? nullptr : &models_[it->second];
}

const ProviderInfo& Catalog::ProviderOf(const ModelEntry& model) const {
  const ProviderInfo* p = FindProvider(model.provider);
  P402_CHECK(p != nullptr);
  return *p;
}

ModelMatch Catalog::Resolve(std::string_view model, std::string_view provider) const {
  ModelMatch match;
  if (model.empty()) {
    return match;
  }
  // Models on `on` whose id or canonical name is `name`.
  auto on_provider = [&](std::string_view on, std::string_view name) {
    std::vector<size_t> out;
    auto it = name_index_.find(name);
    if (it != name_index_.end()) {
      for (size_t i : it->second) {
        if (models_[i].provider == on) out.push_back(i);
      }
    }
    // An exact id beats canonical aliases on the same provider.
    for (size_t i : out) {
      if (models_[i].id == name) return std::vector<size_t>{i};
    }
    return out;
  };
  if (!provider.empty()) {
    match.provider_pinned = true;
    match.models = on_provider(provider, model);
    if (match.models.empty() && model.size() > provider.size() + 1 &&
        model.substr(0, provider.size()) == provider && model[provider.size()] == '/') {
      match.models = on_provider(provider, model.substr(provider.size() + 1));
    }
    return match;
  }
  if (size_t slash = model.find('/'); slash != std::string_view::npos) {
    std::string_view p = model.substr(0, slash);
    if (FindProvider(p) != nullptr) {
      std::vector<size_t> pinned = on_provider(p, model.substr(slash + 1));
      if (!pinned.empty()) {
        match.models = std::move(pinned);
        match.provider_pinned = true;
        return match;
      }
    }
  }
  if (auto it = name_index_.find(model); it != name_index_.end()) {
    match.models = it->second;
  }
  return match;
}

absl::Status Catalog::SetBaseUrl(std::string_view provider, std::string base_url) {
  auto it = provider_index_.find(provider);
  if (it == provider_index_.end()) {
    return NotFound("unknown provider \"" + std::string(provider) + "\"");
  }
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.pop_back();
  }
  providers_[it->second].base_url = std::move(base_url);
  return absl::OkStatus();
}

absl::Status Catalog::SetAvailable(std::string_view provider, bool available) {
  auto it = provider_index_.find(provider);
  if (it == provider_index_.end()) {
    return NotFound("unknown provider \"" + std::string(provider) + "\"");
  }
  providers_[it->second].available = available;
  return absl::OkStatus();
}

v1::ModelInfo Catalog::ToModelInfo(const ModelEntry& model) const {
  const ProviderInfo& p = ProviderOf(model);
  v1::ModelInfo info;
  info.mutable_ref()->set_provider(model.provider);
  info.mutable_ref()->set_model(model.id);
  info.set_display_name(model.name);
  *info.mutable_prices() = ToProto(model.prices);
  info.set_context_window_tokens(model.context_window);
  info.set_max_output_tokens(model.max_output);
  for (const std::string& c : model.capabilities) {
    info.add_capabilities(c);
  }
  info.set_tier(std::string(TierName(model.tier)));
  info.set_quality(model.quality);
  info.set_typical_latency_ms(model.latency_ms);
  info.set_protocol(p.protocol);
  info.set_available(p.available && IsSupportedProtocol(p.protocol));
  return info;
}

}  // namespace p402::router
