// File: tests/services/router/core/fixture_catalog.h
// A small catalog for the router core tests (models.dev format + p402 extras), and helpers: a
// fixed clock and a HealthView whose entries a test sets.
//
// Who wins what (all credentials present, short prompt):
//   cost    -> mistral/mistral-nemo        (cheapest)
//   speed   -> groq/llama-3.1-8b-instant   (150 ms)
//   quality -> anthropic/claude-sonnet-4-5 (1420; google's 1450 is gemini = unsupported)
#pragma once

#include <map>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/clock.h"
#include "services/router/core/catalog.h"
#include "services/router/core/ports.h"

namespace p402::router::testing {

inline constexpr char kFixtureCatalogJson[] = R"json({
  "openai": {
    "id": "openai", "name": "OpenAI", "env": ["OPENAI_API_KEY"], "npm": "@ai-sdk/openai",
    "p402": {"protocol": "openai", "base_url": "https://api.openai.com/v1", "auth": "bearer",
             "key_env": "OPENAI_API_KEY"},
    "models": {
      "gpt-4o-mini": {"id": "gpt-4o-mini", "name": "GPT-4o mini", "tool_call": true,
        "cost": {"input": 0.15, "output": 0.6, "cache_read": 0.075},
        "limit": {"context": 128000, "output": 16384},
        "p402": {"canonical": "gpt-4o-mini", "tier": "budget", "quality": 1270, "latency_ms": 450,
                 "capabilities": ["json_mode", "streaming", "tools", "vision"]}},
      "gpt-4o": {"id": "gpt-4o", "name": "GPT-4o", "tool_call": true,
        "cost": {"input": 2.5, "output": 10, "cache_read": 1.25},
        "limit": {"context": 128000, "output": 16384},
        "p402": {"tier": "premium", "quality": 1340, "latency_ms": 500,
                 "capabilities": ["json_mode", "streaming", "tools", "vision"]}},
      "o4-mini": {"id": "o4-mini", "name": "o4-mini", "temperature": false, "reasoning": true,
        "cost": {"input": 1.1, "output": 4.4}, "limit": {"context": 200000, "output": 100000},
        "p402": {"tier": "mid", "quality": 1330, "latency_ms": 1950,
                 "capabilities": ["reasoning", "streaming", "tools"]}}
    }
  },
  "anthropic": {
    "id": "anthropic", "name": "Anthropic", "env": ["ANTHROPIC_API_KEY"],
    "p402": {"protocol": "anthropic", "base_url": "https://api.anthropic.com/v1",
             "auth": "x-api-key", "key_env": "ANTHROPIC_API_KEY",
             "default_headers": {"anthropic-version": "2023-06-01"}},
    "models": {
      "claude-sonnet-4-5": {"name": "Claude Sonnet 4.5",
        "cost": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75},
        "limit": {"context": 200000, "output": 64000},
        "p402": {"canonical": "claude-sonnet-4.5", "tier": "premium", "quality": 1420,
                 "latency_ms": 650, "capabilities": ["reasoning", "streaming", "tools", "vision"]}},
      "claude-haiku-4-5": {"name": "Claude Haiku 4.5",
        "cost": {"input": 1, "output": 5, "cache_read": 0.1, "cache_write": 1.25},
        "limit": {"context": 200000, "output": 64000},
        "p402": {"canonical": "claude-haiku-4.5", "tier": "mid", "quality": 1330,
                 "latency_ms": 600, "capabilities": ["streaming", "tools", "vision"]}}
    }
  },
  "groq": {
    "id": "groq", "name": "Groq", "env": ["GROQ_API_KEY"],
    "p402": {"protocol": "openai", "base_url": "https://api.groq.com/openai/v1/", "auth": "bearer",
             "key_env": "GROQ_API_KEY"},
    "models": {
      "llama-3.1-8b-instant": {"cost": {"input": 0.05, "output": 0.08},
        "limit": {"context": 131072, "output": 8192},
        "p402": {"tier": "budget", "quality": 1180, "latency_ms": 150,
                 "capabilities": ["json_mode", "streaming", "tools"]}},
      "openai/gpt-oss-120b": {"cost": {"input": 0.15, "output": 0.6},
        "limit": {"context": 131072, "output": 65536},
        "p402": {"canonical": "gpt-oss-120b", "tier": "budget", "quality": 1350,
                 "latency_ms": 1650, "capabilities": ["reasoning", "streaming", "tools"]}}
    }
  },
  "mistral": {
    "id": "mistral", "name": "Mistral", "env": ["MISTRAL_API_KEY"],
    "p402": {"protocol": "openai", "base_url": "https://api.mistral.ai/v1", "auth": "bearer",
             "key_env": "MISTRAL_API_KEY"},
    "models": {
      "mistral-nemo": {"cost": {"input": 0.02, "output": 0.04},
        "limit": {"context": 131072, "output": 16384},
        "p402": {"tier": "budget", "quality": 1150, "latency_ms": 350,
                 "capabilities": ["streaming"]}}
    }
  },
  "openrouter": {
    "id": "openrouter", "name": "OpenRouter", "env": ["OPENROUTER_API_KEY"],
    "p402": {"protocol": "openai", "base_url": "https://openrouter.ai/api/v1", "auth": "bearer",
             "key_env": "OPENROUTER_API_KEY"},
    "models": {
      "openai/gpt-4o-mini": {"cost": {"input": 0.15, "output": 0.6},
        "limit": {"context": 128000, "output": 16384},
        "p402": {"canonical": "gpt-4o-mini", "tier": "budget", "quality": 1270,
                 "latency_ms": 700, "capabilities": ["streaming", "tools", "vision"]}}
    }
  },
  "google": {
    "id": "google", "name": "Google", "env": ["GEMINI_API_KEY"],
    "p402": {"protocol": "gemini", "base_url": "https://generativelanguage.googleapis.com/v1beta",
             "auth": "query-key", "key_env": "GEMINI_API_KEY"},
    "models": {
      "gemini-2.5-pro": {"cost": {"input": 1.25, "output": 10},
        "limit": {"context": 1048576, "output": 65536},
        "p402": {"tier": "premium", "quality": 1450, "latency_ms": 2050,
                 "capabilities": ["reasoning", "streaming", "tools", "vision"]}}
    }
  },
  "local": {
    "id": "local", "api": "http://127.0.0.1:8080/v1/", "env": ["LOCAL_KEY", "OTHER"],
    "models": {
      "tiny": {"cost": {"input": 0.5, "output": 1.5}, "tool_call": true, "reasoning": true,
               "modalities": {"input": ["text", "image"], "output": ["text"]}},
      "free-unpriced": {"name": "no cost table"}
    }
  }
})json";

// The fixture catalog with every provider marked available except `local` (so the defaults model
// does not take part in routing tests unless a test enables it).
inline Catalog FixtureCatalog() {
  absl::StatusOr<Catalog> catalog = Catalog::FromJsonText(kFixtureCatalogJson);
  REQUIRE(catalog.ok());
  for (const ProviderInfo& p : catalog->providers()) {
    if (p.id != "local") REQUIRE(catalog->SetAvailable(p.id, true).ok());
  }
  return *std::move(catalog);
}

// Health entries set by the test, keyed "provider/model".
class FakeHealth final : public HealthView {
 public:
  ModelHealth Get(std::string_view provider, std::string_view model) const override {
    auto it = entries.find(std::string(provider) + "/" + std::string(model));
    return it == entries.end() ? ModelHealth{} : it->second;
  }
  std::map<std::string, ModelHealth> entries;
};

// A clock stopped at 2026-01-01T00:00:00Z.
class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(kNowMs));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point();
  }
  static constexpr int64_t kNowMs = 1'767'225'600'000;
};

}  // namespace p402::router::testing
