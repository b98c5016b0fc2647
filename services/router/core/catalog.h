// File: services/router/core/catalog.h
// The router's provider/model catalog, loaded from the models.dev-format JSON
// (services/router/data/catalog.json; format in services/router/data/README.md) plus our "p402"
// extras. Prices become exact micro-USD per 1M tokens at load time. Lookup by "model",
// "provider/model", and canonical aliases (the same model served by several providers).
// Pure: no file or network access; the server reads the file and passes the text or parsed JSON.
// Defaults for missing optional fields are listed in services/router/core/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "p402/v1/router.pb.h"

namespace p402::router {

// Model price class; ordered so that `tier <= max_tier` is a valid comparison.
enum class Tier { kBudget = 0, kMid = 1, kPremium = 2 };
// "budget" | "mid" | "premium"; nullopt for anything else.
std::optional<Tier> ParseTier(std::string_view name);
std::string_view TierName(Tier tier);

// How the provider's API key is sent (catalog "auth").
enum class AuthStyle { kBearer, kXApiKey, kApiKey, kQueryKey, kSigV4, kNone };
// "bearer" | "x-api-key" | "api-key" | "query-key" | "sigv4" | "none"; nullopt otherwise.
std::optional<AuthStyle> ParseAuthStyle(std::string_view name);

// Prices in micro-USD per 1,000,000 tokens. cache_* = 0 means "no separate price" (billed as
// input, see cost.h).
struct Prices {
  MicroUsd input = 0;
  MicroUsd output = 0;
  MicroUsd cache_read = 0;
  MicroUsd cache_write = 0;
};

struct ProviderInfo {
  std::string id;
  std::string name;
  // Wire protocol: "openai", "anthropic", "gemini", ... (picks the adapter); empty = unknown.
  std::string protocol;
  // Prefix the adapter appends its path to, no trailing '/'. Overridable (tests, local models).
  std::string base_url;
  AuthStyle auth = AuthStyle::kBearer;
  // Environment variable holding the key (the server reads it; the core never does).
  std::string key_env;
  // Headers sent on every request (e.g. anthropic-version), in catalog order.
  std::vector<std::pair<std::string, std::string>> default_headers;
  // True when the server has credentials for this provider (set by the server; default false).
  bool available = false;
};

struct ModelEntry {
  std::string provider;  // provider id
  std::string id;        // model id as the provider names it (may contain '/')
  std::string name;      // display name
  // Provider-independent identity (catalog p402.canonical; defaults to `id`).
  std::string canonical;
  Prices prices;
  int64_t context_window = 0;  // tokens; 0 = unknown
  int64_t max_output = 0;      // tokens; 0 = unknown
  // Sorted, unique: "tools", "vision", "json_mode", "reasoning", "streaming", ...
  std::vector<std::string> capabilities;
  Tier tier = Tier::kMid;
  int quality = 0;                   // arena-style score, higher is better
  int64_t latency_ms = 0;            // typical time to first token (prior for live p95)
  bool supports_temperature = true;  // catalog "temperature": false = rejects sampling params

  bool HasCapability(std::string_view capability) const;
};

// Result of resolving the client's `model` string.
struct ModelMatch {
  // Indices into Catalog::models(), ascending; empty = unknown model.
  std::vector<size_t> models;
  // True when a provider was named ("provider/model" or the `provider` argument).
  bool provider_pinned = false;
};

// Immutable after load except for the two server-side overrides. Copyable; copies are independent.
// Const methods are thread-safe; the setters are not (apply them before sharing the catalog).
class Catalog {
 public:
  // Builds the catalog from the parsed models.dev-format JSON. Tolerates missing optional fields
  // (defaults in README.md); models without a numeric cost.input/cost.output cannot be billed and
  // are skipped (listed in skipped()). Errors: InvalidArgument when the root, a provider, a model
  // or a present field has the wrong type, or a price/limit is negative (message names the entry).
  static absl::StatusOr<Catalog> FromJson(const json::Value& root);
  // Parses `text` then calls FromJson. Errors: InvalidArgument.
  static absl::StatusOr<Catalog> FromJsonText(std::string_view text);

  // Providers sorted by id; models sorted by (provider, id).
  const std::vector<ProviderInfo>& providers() const { return providers_; }
  const std::vector<ModelEntry>& models() const { return models_; }
  // "provider/model: why" for every model left out at load.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Content hash of the source JSON ("fnv1a64:<16 hex>"); changes when the data changes.
  const std::string& version() const { return version_; }

  // nullptr when unknown.
  const ProviderInfo* FindProvider(std::string_view provider) const;
  const ModelEntry* FindModel(std::string_view provider, std::string_view model) const;
  // Provider of a model entry of this catalog (always present).
  const ProviderInfo& ProviderOf(const ModelEntry& model) const;

  // Resolves a client model string; the first rule that matches wins:
  //  1. "p/m" where p is a provider id and m a model id (or canonical name) on p: pinned to p;
  //  2. every model whose id or canonical name equals the whole string, on any provider
  //     ("openai/gpt-oss-120b" -> groq, deepinfra, together; "gpt-oss-120b" -> every host).
  // With `provider` non-empty only that provider's models match (and the result is pinned); the
  // string may then also be "provider/m". Empty result = unknown.
  ModelMatch Resolve(std::string_view model, std::string_view provider = {}) const;

  // Overrides the base URL of a provider (tests, local models). Errors: NotFound.
  absl::Status SetBaseUrl(std::string_view provider, std::string base_url);
  // Marks whether the server holds credentials for a provider. Errors: NotFound.
  absl::Status SetAvailable(std::string_view provider, bool available);

  // The proto view of a model (ListModels). `available` = provider has credentials and a
  // supported protocol (see IsSupportedProtocol).
  v1::ModelInfo ToModelInfo(const ModelEntry& model) const;

 private:
  friend class CatalogBuilder;
  void BuildIndexes();

  std::vector<ProviderInfo> providers_;
  std::vector<ModelEntry> models_;
  std::vector<std::string> skipped_;
  std::string version_;
  std::map<std::string, size_t, std::less<>> provider_index_;
  // "provider\n" + "model" -> index into models_.
  std::map<std::string, size_t, std::less<>> model_index_;
  // model id / canonical name -> indices into models_ (ascending).
  std::map<std::string, std::vector<size_t>, std::less<>> name_index_;
};

// True for protocols that have an adapter in this build ("openai", "anthropic").
bool IsSupportedProtocol(std::string_view protocol);

// ModelPrices proto from Prices.
v1::ModelPrices ToProto(const Prices& prices);

}  // namespace p402::router
