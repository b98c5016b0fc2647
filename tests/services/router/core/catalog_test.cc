#include "services/router/core/catalog.h"

#include <fstream>
#include <sstream>

#include "catch2/catch.hpp"
#include "tests/services/router/core/fixture_catalog.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using testing::FixtureCatalog;
using testing::kFixtureCatalogJson;

std::vector<std::string> Refs(const Catalog& catalog, const ModelMatch& match) {
  std::vector<std::string> out;
  for (size_t i : match.models) {
    out.push_back(catalog.models()[i].provider + "/" + catalog.models()[i].id);
  }
  return out;
}

TEST_CASE("Catalog loads providers, models and exact micro-USD prices", "[unit]") {
  Catalog catalog = FixtureCatalog();
  REQUIRE(catalog.providers().size() == 7);
  CHECK(catalog.providers().front().id == "anthropic");  // sorted by id
  REQUIRE(catalog.models().size() == 11);
  REQUIRE(catalog.skipped().size() == 1);
  CHECK(catalog.skipped()[0].find("local/free-unpriced") != std::string::npos);

  const ModelEntry* mini = catalog.FindModel("openai", "gpt-4o-mini");
  REQUIRE(mini != nullptr);
  CHECK(mini->prices.input == 150'000);
  CHECK(mini->prices.output == 600'000);
  CHECK(mini->prices.cache_read == 75'000);
  CHECK(mini->prices.cache_write == 0);
  CHECK(mini->context_window == 128000);
  CHECK(mini->max_output == 16384);
  CHECK(mini->tier == Tier::kBudget);
  CHECK(mini->quality == 1270);
  CHECK(mini->latency_ms == 450);
  CHECK(mini->HasCapability("vision"));
  CHECK_FALSE(mini->HasCapability("reasoning"));
  CHECK(mini->supports_temperature);
  CHECK_FALSE(catalog.FindModel("openai", "o4-mini")->supports_temperature);

  const ModelEntry* sonnet = catalog.FindModel("anthropic", "claude-sonnet-4-5");
  REQUIRE(sonnet != nullptr);
  CHECK(sonnet->prices.cache_write == 3'750'000);
  CHECK(sonnet->canonical == "claude-sonnet-4.5");
  CHECK(sonnet->name == "Claude Sonnet 4.5");
  CHECK(catalog.FindModel("openai", "gpt-4o")->canonical == "gpt-4o");  // defaults to id

  const ProviderInfo* anthropic = catalog.FindProvider("anthropic");
  REQUIRE(anthropic != nullptr);
  CHECK(anthropic->protocol == "anthropic");
  CHECK(anthropic->auth == AuthStyle::kXApiKey);
  CHECK(anthropic->key_env == "ANTHROPIC_API_KEY");
  REQUIRE(anthropic->default_headers.size() == 1);
  CHECK(anthropic->default_headers[0].first == "anthropic-version");
  CHECK(catalog.FindProvider("groq")->base_url == "https://api.groq.com/openai/v1");
  CHECK(catalog.FindProvider("google")->auth == AuthStyle::kQueryKey);
}

TEST_CASE("Catalog defaults for a provider and model without p402 extras", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ProviderInfo* local = catalog.FindProvider("local");
  REQUIRE(local != nullptr);
  CHECK(local->protocol == "openai");  // inferred from "api"
  CHECK(local->base_url == "http://127.0.0.1:8080/v1");
  CHECK(local->auth == AuthStyle::kBearer);
  CHECK(local->key_env == "LOCAL_KEY");
  CHECK(local->name == "local");
  CHECK_FALSE(local->available);

  const ModelEntry* tiny = catalog.FindModel("local", "tiny");
  REQUIRE(tiny != nullptr);
  CHECK(tiny->tier == Tier::kMid);  // output $1.5 per 1M
  CHECK(tiny->quality == 1000);
  CHECK(tiny->latency_ms == 1000);
  CHECK(tiny->context_window == 0);
  CHECK(tiny->capabilities ==
        std::vector<std::string>{"reasoning", "streaming", "tools", "vision"});
}

TEST_CASE("Catalog resolves model, provider/model and canonical aliases", "[unit]") {
  Catalog catalog = FixtureCatalog();
  ModelMatch m = catalog.Resolve("gpt-4o-mini");
  CHECK(Refs(catalog, m) ==
        std::vector<std::string>{"openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini"});
  CHECK_FALSE(m.provider_pinned);

  m = catalog.Resolve("openai/gpt-4o-mini");
  CHECK(Refs(catalog, m) == std::vector<std::string>{"openai/gpt-4o-mini"});
  CHECK(m.provider_pinned);

  m = catalog.Resolve("openrouter/openai/gpt-4o-mini");
  CHECK(Refs(catalog, m) == std::vector<std::string>{"openrouter/openai/gpt-4o-mini"});
  CHECK(m.provider_pinned);

  // "openai" is a provider but has no gpt-oss-120b: the whole string is groq's model id.
  m = catalog.Resolve("openai/gpt-oss-120b");
  CHECK(Refs(catalog, m) == std::vector<std::string>{"groq/openai/gpt-oss-120b"});
  CHECK_FALSE(m.provider_pinned);

  CHECK(Refs(catalog, catalog.Resolve("gpt-oss-120b")) ==
        std::vector<std::string>{"groq/openai/gpt-oss-120b"});
  CHECK(Refs(catalog, catalog.Resolve("claude-sonnet-4.5")) ==
        std::vector<std::string>{"anthropic/claude-sonnet-4-5"});
  CHECK(Refs(catalog, catalog.Resolve("anthropic/claude-sonnet-4.5")) ==
        std::vector<std::string>{"anthropic/claude-sonnet-4-5"});
  CHECK(catalog.Resolve("no-such-model").models.empty());
  CHECK(catalog.Resolve("").models.empty());

  // With an explicit provider argument.
  m = catalog.Resolve("openai/gpt-4o-mini", "openrouter");
  CHECK(Refs(catalog, m) == std::vector<std::string>{"openrouter/openai/gpt-4o-mini"});
  CHECK(m.provider_pinned);
  CHECK(Refs(catalog, catalog.Resolve("openai/gpt-4o", "openai")) ==
        std::vector<std::string>{"openai/gpt-4o"});
  CHECK(catalog.Resolve("gpt-4o", "anthropic").models.empty());
}

TEST_CASE("Catalog overrides and ToModelInfo", "[unit]") {
  Catalog catalog = FixtureCatalog();
  REQUIRE(catalog.SetBaseUrl("openai", "http://127.0.0.1:1234/v1/").ok());
  CHECK(catalog.FindProvider("openai")->base_url == "http://127.0.0.1:1234/v1");
  CHECK_THAT(catalog.SetBaseUrl("nope", "x"), StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(catalog.SetAvailable("nope", true), StatusIs(absl::StatusCode::kNotFound));

  v1::ModelInfo info = catalog.ToModelInfo(*catalog.FindModel("anthropic", "claude-haiku-4-5"));
  CHECK(info.ref().provider() == "anthropic");
  CHECK(info.ref().model() == "claude-haiku-4-5");
  CHECK(info.display_name() == "Claude Haiku 4.5");
  CHECK(info.prices().input_per_mtok_micro_usd() == 1'000'000);
  CHECK(info.prices().cache_read_per_mtok_micro_usd() == 100'000);
  CHECK(info.prices().cache_write_per_mtok_micro_usd() == 1'250'000);
  CHECK(info.context_window_tokens() == 200000);
  CHECK(info.max_output_tokens() == 64000);
  CHECK(info.tier() == "mid");
  CHECK(info.quality() == 1330);
  CHECK(info.typical_latency_ms() == 600);
  CHECK(info.protocol() == "anthropic");
  CHECK(info.available());
  CHECK(info.capabilities_size() == 3);

  // Credentials but no adapter: not available.
  CHECK_FALSE(catalog.ToModelInfo(*catalog.FindModel("google", "gemini-2.5-pro")).available());
  REQUIRE(catalog.SetAvailable("anthropic", false).ok());
  CHECK_FALSE(catalog.ToModelInfo(*catalog.FindModel("anthropic", "claude-haiku-4-5")).available());
}

TEST_CASE("Catalog rejects malformed input with clear errors", "[unit]") {
  using absl::StatusCode;
  CHECK_THAT(Catalog::FromJsonText("[1,2]").status(),
             StatusIs(StatusCode::kInvalidArgument, "root must be an object"));
  CHECK_THAT(Catalog::FromJsonText("{").status(), StatusIs(StatusCode::kInvalidArgument));
  CHECK_THAT(Catalog::FromJsonText(R"({"p": 3})").status(),
             StatusIs(StatusCode::kInvalidArgument, "provider \"p\""));
  CHECK_THAT(Catalog::FromJsonText(R"({"p": {"models": {"m": {"cost": {"input": -1,
             "output": 1}}}}})")
                 .status(),
             StatusIs(StatusCode::kInvalidArgument, "p/m.cost"));
  CHECK_THAT(Catalog::FromJsonText(R"({"p": {"models": {"m": {"cost": {"input": 1,
             "output": 1}, "p402": {"tier": "gold"}}}}})")
                 .status(),
             StatusIs(StatusCode::kInvalidArgument, "tier"));
  CHECK_THAT(Catalog::FromJsonText(R"({"p": {"p402": {"auth": "magic"}}})").status(),
             StatusIs(StatusCode::kInvalidArgument, "auth"));
  CHECK_THAT(Catalog::FromJsonText(R"({"p": {"models": {"m": {"cost": "free"}}}})").status(),
             StatusIs(StatusCode::kInvalidArgument, "cost"));
  // Empty catalog is valid.
  absl::StatusOr<Catalog> empty = Catalog::FromJsonText("{}");
  REQUIRE(empty.ok());
  CHECK(empty->models().empty());
}

TEST_CASE("Catalog version is a content hash", "[unit]") {
  absl::StatusOr<Catalog> a = Catalog::FromJsonText(kFixtureCatalogJson);
  absl::StatusOr<Catalog> b = Catalog::FromJsonText(kFixtureCatalogJson);
  absl::StatusOr<Catalog> c = Catalog::FromJsonText("{}");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->version().rfind("fnv1a64:", 0) == 0);
  CHECK(a->version() == b->version());
  CHECK(a->version() != c->version());
}

TEST_CASE("The checked-in catalog.json loads", "[unit]") {
  std::ifstream in(p402::testing::SourceDir() + "/services/router/data/catalog.json");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Catalog> catalog = Catalog::FromJsonText(text.str());
  REQUIRE(catalog.ok());
  CHECK(catalog->models().size() >= 50);
  CHECK(catalog->skipped().empty());
  for (const ProviderInfo& p : catalog->providers()) {
    INFO(p.id);
    CHECK(!p.protocol.empty());
    CHECK(p.base_url.rfind("https://", 0) == 0);
    CHECK(!p.key_env.empty());
  }
  const ModelEntry* mini = catalog->FindModel("openai", "gpt-4o-mini");
  REQUIRE(mini != nullptr);
  CHECK(mini->prices.input == 150'000);
  CHECK(catalog->Resolve("gpt-oss-120b").models.size() >= 3);
}

}  // namespace
}  // namespace p402::router
