#!/usr/bin/env python3
"""Builds the router's checked-in catalog from a models.dev `api.json` snapshot.

Usage:
    python3 tools/catalog/build_catalog.py SRC_API_JSON OUT_CATALOG_JSON [--strict]

Example (from the repository root):
    python3 tools/catalog/build_catalog.py /work/shared/data/models-dev/api.json \
        services/router/data/catalog.json

What it does:
  * keeps only the providers listed in PROVIDERS and, for each, the models listed in
    SELECTION (everything else in models.dev is dropped);
  * copies every models.dev field of those providers and models verbatim (prices are
    never rounded or recomputed);
  * adds our own fields under a "p402" object on each provider and each model, so a
    models.dev refresh never collides with them (see services/router/data/README.md);
  * validates the result and writes it with sorted keys and 2-space indentation, so the
    output is byte-for-byte deterministic for a given input.

A selected model that is missing from the snapshot, or has no usable price or limits, is
skipped with a warning (the snapshot moved on); --strict turns any such warning into a
failure. Standard library only.
"""

import argparse
import json
import math
import sys

# ---------------------------------------------------------------------------------------
# Providers: wire protocol, base URL, auth and latency. base_url is the prefix the adapter
# appends its endpoint path to: openai -> "/chat/completions", anthropic -> "/messages",
# gemini -> "/models/{model}:generateContent" (":streamGenerateContent?alt=sse" to stream).
# "api" is models.dev's base URL when it publishes one; base_url below equals it (minus a
# trailing slash) for those providers and is the vendor's documented URL otherwise.
#
# latency_ms: rough typical time to first token in milliseconds for a short prompt with a
# non-reasoning model, per provider. A starting prior only; the router replaces it with live
# p95 once it has traffic.
#
# json_object: the provider's OpenAI-style endpoint accepts
# response_format {"type": "json_object"} for its chat models; models with models.dev
# structured_output=true get "json_mode" regardless.
# ---------------------------------------------------------------------------------------
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}

PROVIDERS = {
    "openai": dict(protocol="openai", base_url="https://api.openai.com/v1",
                   auth="bearer", key_env="OPENAI_API_KEY", latency_ms=450,
                   json_object=True),
    "anthropic": dict(protocol="anthropic", base_url="https://api.anthropic.com/v1",
                      auth="x-api-key", key_env="ANTHROPIC_API_KEY", latency_ms=650,
                      json_object=False, default_headers=ANTHROPIC_HEADERS),
    "groq": dict(protocol="openai", base_url="https://api.groq.com/openai/v1",
                 auth="bearer", key_env="GROQ_API_KEY", latency_ms=150, json_object=True),
    "deepseek": dict(protocol="openai", base_url="https://api.deepseek.com",
                     auth="bearer", key_env="DEEPSEEK_API_KEY", latency_ms=1200,
                     json_object=True),
    "mistral": dict(protocol="openai", base_url="https://api.mistral.ai/v1",
                    auth="bearer", key_env="MISTRAL_API_KEY", latency_ms=350,
                    json_object=True),
    "togetherai": dict(protocol="openai", base_url="https://api.together.xyz/v1",
                       auth="bearer", key_env="TOGETHER_API_KEY", latency_ms=400,
                       json_object=True),
    "fireworks-ai": dict(protocol="openai", base_url="https://api.fireworks.ai/inference/v1",
                         auth="bearer", key_env="FIREWORKS_API_KEY", latency_ms=300,
                         json_object=True),
    "xai": dict(protocol="openai", base_url="https://api.x.ai/v1",
                auth="bearer", key_env="XAI_API_KEY", latency_ms=600, json_object=True),
    # OpenRouter adds a hop in front of the real upstream; JSON support depends on the
    # upstream, so only models.dev's structured_output flag decides there.
    "openrouter": dict(protocol="openai", base_url="https://openrouter.ai/api/v1",
                       auth="bearer", key_env="OPENROUTER_API_KEY", latency_ms=700,
                       json_object=False),
    "cerebras": dict(protocol="openai", base_url="https://api.cerebras.ai/v1",
                     auth="bearer", key_env="CEREBRAS_API_KEY", latency_ms=150,
                     json_object=True),
    "deepinfra": dict(protocol="openai", base_url="https://api.deepinfra.com/v1/openai",
                      auth="bearer", key_env="DEEPINFRA_API_KEY", latency_ms=450,
                      json_object=True),
    # Sonar runs a web search before it answers, hence the slow first token.
    "perplexity": dict(protocol="openai", base_url="https://api.perplexity.ai",
                       auth="bearer", key_env="PERPLEXITY_API_KEY", latency_ms=1200,
                       json_object=False),
    "moonshotai": dict(protocol="openai", base_url="https://api.moonshot.ai/v1",
                       auth="bearer", key_env="MOONSHOT_API_KEY", latency_ms=1000,
                       json_object=True),
    # MiniMax's Anthropic-compatible endpoint (the one models.dev lists); it also accepts
    # the Anthropic SDK's x-api-key header.
    "minimax": dict(protocol="anthropic", base_url="https://api.minimax.io/anthropic/v1",
                    auth="x-api-key", key_env="MINIMAX_API_KEY", latency_ms=900,
                    json_object=False, default_headers=ANTHROPIC_HEADERS),
    "zai": dict(protocol="openai", base_url="https://api.z.ai/api/paas/v4",
                auth="bearer", key_env="ZHIPU_API_KEY", latency_ms=1000, json_object=True),
    "alibaba": dict(protocol="openai",
                    base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
                    auth="bearer", key_env="DASHSCOPE_API_KEY", latency_ms=900,
                    json_object=True),
    # Native Gemini API; the router skips it until it has a gemini adapter. The key can
    # also be sent as the x-goog-api-key header, which keeps it out of URLs and logs.
    "google": dict(protocol="gemini",
                   base_url="https://generativelanguage.googleapis.com/v1beta",
                   auth="query-key", key_env="GEMINI_API_KEY", latency_ms=550,
                   json_object=False),
}

# ---------------------------------------------------------------------------------------
# Selected models: provider -> [(models.dev model id, canonical model key)]. The canonical
# key names the underlying model independently of who serves it, so the router can fail
# over between providers serving the same weights (e.g. "gpt-oss-120b" on five hosts).
# ---------------------------------------------------------------------------------------
SELECTION = {
    "openai": [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4.1", "gpt-4.1"),
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
        ("o3-mini", "o3-mini"),
        ("o4-mini", "o4-mini"),
        ("o3", "o3"),
        ("gpt-5", "gpt-5"),
        ("gpt-5-mini", "gpt-5-mini"),
        ("gpt-5-nano", "gpt-5-nano"),
        ("gpt-5.1", "gpt-5.1"),
        ("gpt-5.2", "gpt-5.2"),
        ("gpt-5.4", "gpt-5.4"),
        ("gpt-5.4-mini", "gpt-5.4-mini"),
        ("gpt-5.4-nano", "gpt-5.4-nano"),
        ("gpt-5.5", "gpt-5.5"),
    ],
    "anthropic": [
        ("claude-haiku-4-5", "claude-haiku-4.5"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-sonnet-4-5", "claude-sonnet-4.5"),
        ("claude-sonnet-4-6", "claude-sonnet-4.6"),
        ("claude-sonnet-5", "claude-sonnet-5"),
        ("claude-opus-4-1", "claude-opus-4.1"),
        ("claude-opus-4-5", "claude-opus-4.5"),
        ("claude-opus-4-6", "claude-opus-4.6"),
        ("claude-opus-4-7", "claude-opus-4.7"),
        ("claude-opus-4-8", "claude-opus-4.8"),
        ("claude-fable-5", "claude-fable-5"),
    ],
    "groq": [
        ("llama-3.1-8b-instant", "llama-3.1-8b"),
        ("llama-3.3-70b-versatile", "llama-3.3-70b"),
        ("meta-llama/llama-4-scout-17b-16e-instruct", "llama-4-scout"),
        ("qwen/qwen3-32b", "qwen3-32b"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
        ("openai/gpt-oss-20b", "gpt-oss-20b"),
    ],
    "deepseek": [
        ("deepseek-chat", "deepseek-v4-flash"),
        ("deepseek-reasoner", "deepseek-v4-flash-thinking"),
        ("deepseek-v4-flash", "deepseek-v4-flash"),
        ("deepseek-v4-pro", "deepseek-v4-pro"),
    ],
    "mistral": [
        ("mistral-large-latest", "mistral-large-3"),
        ("mistral-medium-latest", "mistral-medium-3.1"),
        ("mistral-small-latest", "mistral-small-2603"),
        ("magistral-medium-latest", "magistral-medium"),
        ("codestral-latest", "codestral"),
        ("ministral-8b-latest", "ministral-8b"),
        ("ministral-3b-latest", "ministral-3b"),
        ("mistral-nemo", "mistral-nemo"),
    ],
    "togetherai": [
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507-tput", "qwen3-235b-a22b-2507"),
        ("Qwen/Qwen3.5-397B-A17B", "qwen3.5-397b-a17b"),
        ("deepseek-ai/DeepSeek-V4-Pro", "deepseek-v4-pro"),
        ("moonshotai/Kimi-K2.6", "kimi-k2.6"),
        ("zai-org/GLM-5.1", "glm-5.1"),
    ],
    "fireworks-ai": [
        ("accounts/fireworks/models/gpt-oss-120b", "gpt-oss-120b"),
        ("accounts/fireworks/models/gpt-oss-20b", "gpt-oss-20b"),
        ("accounts/fireworks/models/deepseek-v4-flash", "deepseek-v4-flash"),
        ("accounts/fireworks/models/kimi-k2p6", "kimi-k2.6"),
        ("accounts/fireworks/models/glm-5p1", "glm-5.1"),
        ("accounts/fireworks/models/qwen3p7-plus", "qwen3.7-plus"),
        ("accounts/fireworks/models/minimax-m3", "minimax-m3"),
    ],
    "xai": [
        ("grok-4.3", "grok-4.3"),
        ("grok-4.20-0309-reasoning", "grok-4.20-reasoning"),
        ("grok-4.20-0309-non-reasoning", "grok-4.20"),
        ("grok-build-0.1", "grok-build-0.1"),
    ],
    "openrouter": [
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("openai/gpt-5-mini", "gpt-5-mini"),
        ("anthropic/claude-haiku-4.5", "claude-haiku-4.5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5"),
        ("google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("google/gemini-2.5-pro", "gemini-2.5-pro"),
        ("meta-llama/llama-3.3-70b-instruct", "llama-3.3-70b"),
        ("deepseek/deepseek-v3.2", "deepseek-v3.2"),
        ("qwen/qwen3-235b-a22b-2507", "qwen3-235b-a22b-2507"),
        ("mistralai/mistral-small-3.2-24b-instruct", "mistral-small-3.2"),
        ("moonshotai/kimi-k2.6", "kimi-k2.6"),
        ("z-ai/glm-4.6", "glm-4.6"),
        ("x-ai/grok-4.3", "grok-4.3"),
    ],
    "cerebras": [
        ("gpt-oss-120b", "gpt-oss-120b"),
        ("zai-glm-4.7", "glm-4.7"),
    ],
    "deepinfra": [
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "llama-3.3-70b"),
        ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
        ("deepseek-ai/DeepSeek-V3.2", "deepseek-v3.2"),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct-Turbo", "qwen3-coder-480b-a35b"),
        ("google/gemma-4-31B-it", "gemma-4-31b"),
        ("zai-org/GLM-4.7", "glm-4.7"),
    ],
    "perplexity": [
        ("sonar", "sonar"),
        ("sonar-pro", "sonar-pro"),
        ("sonar-reasoning-pro", "sonar-reasoning-pro"),
    ],
    "moonshotai": [
        ("kimi-k2-0905-preview", "kimi-k2-0905"),
        ("kimi-k2-thinking", "kimi-k2-thinking"),
        ("kimi-k2.6", "kimi-k2.6"),
    ],
    "minimax": [
        ("MiniMax-M2.5", "minimax-m2.5"),
        ("MiniMax-M2.7", "minimax-m2.7"),
        ("MiniMax-M3", "minimax-m3"),
    ],
    "zai": [
        ("glm-4.5-air", "glm-4.5-air"),
        ("glm-4.6", "glm-4.6"),
        ("glm-4.7", "glm-4.7"),
        ("glm-5.1", "glm-5.1"),
    ],
    "alibaba": [
        ("qwen-flash", "qwen-flash"),
        ("qwen-plus", "qwen-plus"),
        ("qwen3-max", "qwen3-max"),
        ("qwen3.6-plus", "qwen3.6-plus"),
    ],
    "google": [
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini-3-flash-preview", "gemini-3-flash"),
        ("gemini-3.1-flash-lite", "gemini-3.1-flash-lite"),
        ("gemini-3.1-pro-preview", "gemini-3.1-pro"),
    ],
}

# ---------------------------------------------------------------------------------------
# Quality: an arena-style ELO on the LMArena text-leaderboard scale (style control on).
#
# ARENA_APPROX holds approximate scores recalled from that leaderboard as of late 2025, for
# models the author knew. They are NOT authoritative: the leaderboard moves, scores drift by
# tens of points between snapshots, and thinking/non-thinking variants differ. Treat them as
# a relative ordering with roughly +/-30 points of noise.
# ---------------------------------------------------------------------------------------
ARENA_APPROX = {
    # OpenAI
    "gpt-4o": 1345, "gpt-4o-mini": 1318, "gpt-4.1": 1410, "gpt-4.1-mini": 1380,
    "gpt-4.1-nano": 1320, "o3-mini": 1350, "o4-mini": 1395, "o3": 1445, "gpt-5": 1440,
    "gpt-5-mini": 1395, "gpt-5-nano": 1335, "gpt-5.1": 1455, "gpt-oss-120b": 1350,
    "gpt-oss-20b": 1315,
    # Anthropic
    "claude-sonnet-4": 1400, "claude-opus-4.1": 1445, "claude-sonnet-4.5": 1450,
    "claude-haiku-4.5": 1400, "claude-opus-4.5": 1470,
    # Google
    "gemini-2.5-pro": 1460, "gemini-2.5-flash": 1410, "gemini-2.5-flash-lite": 1370,
    # Meta
    "llama-3.1-8b": 1210, "llama-3.3-70b": 1320, "llama-4-scout": 1320,
    # DeepSeek
    "deepseek-v3.2": 1420,
    # Mistral
    "mistral-medium-3.1": 1395, "mistral-small-3.2": 1320, "magistral-medium": 1340,
    "ministral-8b": 1240, "mistral-nemo": 1250,
    # Qwen
    "qwen3-32b": 1350, "qwen3-235b-a22b-2507": 1420, "qwen3-coder-480b-a35b": 1400,
    "qwen3-max": 1430,
    # Moonshot, Zhipu
    "kimi-k2-0905": 1420, "kimi-k2-thinking": 1430, "glm-4.5-air": 1380, "glm-4.6": 1425,
    # Reference-only anchors: not in the catalog, used through PREDECESSOR below.
    "gemini-3-pro": 1495, "grok-4": 1430, "grok-4.1": 1465,
}

# Newer models whose direct predecessor has a score above: their estimate is never lower
# than the predecessor's (a vendor's next version is assumed to be at least as good).
PREDECESSOR = {
    "gpt-5.2": "gpt-5.1", "gpt-5.4": "gpt-5.1", "gpt-5.5": "gpt-5.1",
    "gpt-5.4-mini": "gpt-5-mini", "gpt-5.4-nano": "gpt-5-nano",
    "claude-sonnet-4.6": "claude-sonnet-4.5", "claude-sonnet-5": "claude-sonnet-4.5",
    "claude-opus-4.6": "claude-opus-4.5", "claude-opus-4.7": "claude-opus-4.5",
    "claude-opus-4.8": "claude-opus-4.5", "claude-fable-5": "claude-opus-4.5",
    "gemini-3-flash": "gemini-2.5-flash", "gemini-3.1-flash-lite": "gemini-2.5-flash-lite",
    "gemini-3.1-pro": "gemini-3-pro",
    "deepseek-v4-flash": "deepseek-v3.2", "deepseek-v4-flash-thinking": "deepseek-v3.2",
    "deepseek-v4-pro": "deepseek-v3.2",
    "mistral-small-2603": "mistral-small-3.2", "mistral-large-3": "mistral-medium-3.1",
    "grok-4.20": "grok-4.1", "grok-4.20-reasoning": "grok-4.1", "grok-4.3": "grok-4.1",
    "qwen3.5-397b-a17b": "qwen3-235b-a22b-2507", "qwen3.6-plus": "qwen3-max",
    "qwen3.7-plus": "qwen3-max",
    "kimi-k2.6": "kimi-k2-thinking", "glm-4.7": "glm-4.6", "glm-5.1": "glm-4.6",
}

# Fallback formula (documented in the README), for models without an ARENA_APPROX score:
#   q = 1255 + 28*log2(1 + min(output_price, 30)) + 10*[reasoning]
#       + 12*quarters from 2024-01 to the model's date (0..12)
# clamped to [1000, 1480], then raised to the predecessor's score when PREDECESSOR names one.
# Price stands in for model size/capability, reasoning for test-time compute and date for the
# steady improvement of each price point. The model's date is the later of release_date and
# last_updated: alias ids ("mistral-large-latest", "qwen-plus", "sonar") keep their first
# release date while pointing at newer weights.
# The coefficients were fitted (coarse grid, least mean absolute error) against the
# ARENA_APPROX models of this catalog; `--report` prints the current fit error.
Q_BASE, Q_PRICE, Q_PRICE_CAP, Q_REASONING, Q_PER_QUARTER, Q_MAX_QUARTERS = (
    1255, 28, 30.0, 10, 12, 12)
Q_MIN, Q_MAX = 1000, 1480


def formula_quality(model):
    out_price = float(model["cost"]["output"])
    q = Q_BASE + Q_PRICE * math.log2(1.0 + min(out_price, Q_PRICE_CAP))
    if model.get("reasoning"):
        q += Q_REASONING
    date = max(model.get("release_date") or "", model.get("last_updated") or "")
    q += Q_PER_QUARTER * quarters_since_2024(date)
    return int(round(min(max(q, Q_MIN), Q_MAX)))


def quarters_since_2024(release_date):
    parts = (release_date or "").split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
    except ValueError:
        return 0
    months = (year - 2024) * 12 + (month - 1)
    return max(0, min(Q_MAX_QUARTERS, months // 3))


def quality_for(canonical, model):
    """Returns (quality, source) where source is "arena_approx" or "estimate"."""
    if canonical in ARENA_APPROX:
        return ARENA_APPROX[canonical], "arena_approx"
    q = formula_quality(model)
    pred = PREDECESSOR.get(canonical)
    if pred is not None:
        q = max(q, ARENA_APPROX[pred])
    return q, "estimate"


# ---------------------------------------------------------------------------------------
# Tier from the published base output price in USD per 1M tokens (cost.output; long-context
# "tiers" are ignored): < 1 budget, < 10 mid, otherwise premium.
# ---------------------------------------------------------------------------------------
TIER_BUDGET_BELOW = 1.0
TIER_MID_BELOW = 10.0


def tier_for(model):
    out_price = float(model["cost"]["output"])
    if out_price < TIER_BUDGET_BELOW:
        return "budget"
    if out_price < TIER_MID_BELOW:
        return "mid"
    return "premium"


# ---------------------------------------------------------------------------------------
# Latency: provider latency_ms, plus REASONING_TTFT_PENALTY_MS for models that think before
# their first visible token by default. Models whose thinking is opt-in (off unless the
# request asks for it) get no penalty.
# ---------------------------------------------------------------------------------------
REASONING_TTFT_PENALTY_MS = 1500
THINKING_OPT_IN_PREFIXES = (
    "claude-",         # Anthropic extended thinking is off unless requested.
    "gpt-5.1", "gpt-5.2",  # default reasoning effort is "none".
    "mistral-small-2603",  # reasoning is a request option.
    "gemini-2.5-flash-lite",  # thinking budget defaults to 0.
    "qwen-plus", "qwen-flash",  # DashScope enable_thinking defaults to false.
    "minimax-",        # short interleaved thinking; measured TTFT is not reasoning-bound.
)


def latency_for(provider_id, canonical, model):
    latency = PROVIDERS[provider_id]["latency_ms"]
    if model.get("reasoning") and not canonical.startswith(THINKING_OPT_IN_PREFIXES):
        latency += REASONING_TTFT_PENALTY_MS
    return latency


def capabilities_for(provider_id, model):
    caps = ["streaming"]
    if model.get("tool_call"):
        caps.append("tools")
    if "image" in model.get("modalities", {}).get("input", []):
        caps.append("vision")
    if model.get("structured_output") or PROVIDERS[provider_id]["json_object"]:
        caps.append("json_mode")
    if model.get("reasoning"):
        caps.append("reasoning")
    return sorted(caps)


# ---------------------------------------------------------------------------------------
# Selection checks and validation.
# ---------------------------------------------------------------------------------------
def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def unusable_reason(model):
    """Returns why a model cannot be routed to, or None if it is usable."""
    cost = model.get("cost")
    if not isinstance(cost, dict):
        return "no cost table"
    if not is_number(cost.get("input")) or not is_number(cost.get("output")):
        return "cost.input/cost.output missing"
    if cost["input"] <= 0 and cost["output"] <= 0:
        return "zero price"
    limit = model.get("limit") or {}
    if not (is_number(limit.get("context")) and limit["context"] > 0):
        return "limit.context missing or zero"
    if not (is_number(limit.get("output")) and limit["output"] > 0):
        return "limit.output missing or zero"
    modalities = model.get("modalities") or {}
    if "text" not in modalities.get("output", []) or "text" not in modalities.get("input", []):
        return "not a text chat model"
    return None


def validate(catalog):
    errors = []
    for pid, prov in catalog.items():
        p = prov.get("p402") or {}
        for key in ("protocol", "base_url", "auth", "key_env"):
            if not isinstance(p.get(key), str) or not p[key]:
                errors.append("%s: p402.%s missing" % (pid, key))
        if not str(p.get("base_url", "")).startswith("https://"):
            errors.append("%s: p402.base_url is not https" % pid)
        if str(p.get("base_url", "")).endswith("/"):
            errors.append("%s: p402.base_url ends with '/'" % pid)
        if not prov.get("models"):
            errors.append("%s: no models" % pid)
        for mid, model in prov.get("models", {}).items():
            reason = unusable_reason(model)
            if reason:
                errors.append("%s/%s: %s" % (pid, mid, reason))
            m = model.get("p402") or {}
            if m.get("tier") not in ("budget", "mid", "premium"):
                errors.append("%s/%s: bad p402.tier" % (pid, mid))
            if not isinstance(m.get("quality"), int) or not Q_MIN <= m["quality"] <= 1500:
                errors.append("%s/%s: bad p402.quality" % (pid, mid))
            if not isinstance(m.get("latency_ms"), int) or m["latency_ms"] <= 0:
                errors.append("%s/%s: bad p402.latency_ms" % (pid, mid))
            if "streaming" not in m.get("capabilities", []):
                errors.append("%s/%s: bad p402.capabilities" % (pid, mid))
    return errors


def build(source, strict):
    if set(SELECTION) != set(PROVIDERS):
        raise SystemExit("error: SELECTION and PROVIDERS name different providers: %s" %
                         sorted(set(SELECTION) ^ set(PROVIDERS)))
    warnings = []
    catalog = {}
    for pid in sorted(SELECTION):
        if pid not in source:
            warnings.append("provider %s not in source" % pid)
            continue
        src_prov = source[pid]
        extras = PROVIDERS[pid]
        prov = {k: v for k, v in src_prov.items() if k != "models"}
        if "api" in src_prov and src_prov["api"].rstrip("/") != extras["base_url"]:
            warnings.append("%s: models.dev api %s differs from p402.base_url %s" %
                            (pid, src_prov["api"], extras["base_url"]))
        if extras["key_env"] not in src_prov.get("env", []):
            warnings.append("%s: key_env %s not in models.dev env %s" %
                            (pid, extras["key_env"], src_prov.get("env")))
        p402 = {k: extras[k] for k in ("protocol", "base_url", "auth", "key_env")}
        if extras.get("default_headers"):
            p402["default_headers"] = dict(extras["default_headers"])
        prov["p402"] = p402
        prov["models"] = {}
        for mid, canonical in SELECTION[pid]:
            model = src_prov["models"].get(mid)
            if model is None:
                warnings.append("%s/%s: not in source, skipped" % (pid, mid))
                continue
            reason = unusable_reason(model)
            if reason:
                warnings.append("%s/%s: %s, skipped" % (pid, mid, reason))
                continue
            if model.get("status") == "deprecated":
                warnings.append("%s/%s: marked deprecated upstream" % (pid, mid))
            out = dict(model)
            quality, quality_source = quality_for(canonical, model)
            out["p402"] = {
                "canonical": canonical,
                "tier": tier_for(model),
                "quality": quality,
                "quality_source": quality_source,
                "latency_ms": latency_for(pid, canonical, model),
                "capabilities": capabilities_for(pid, model),
            }
            prov["models"][mid] = out
        if prov["models"]:
            catalog[pid] = prov
    for w in warnings:
        print("warning: " + w, file=sys.stderr)
    if strict and warnings:
        raise SystemExit("error: --strict and %d warning(s)" % len(warnings))
    return catalog


def report(catalog):
    """Prints per-provider counts and the fallback formula's error on known models."""
    for pid, prov in sorted(catalog.items()):
        print("%-14s %-9s %2d models  %s" % (pid, prov["p402"]["protocol"],
                                             len(prov["models"]), prov["p402"]["base_url"]))
    errors = {}
    for prov in catalog.values():
        for model in prov["models"].values():
            p = model["p402"]
            if p["quality_source"] == "arena_approx":
                errors[p["canonical"]] = formula_quality(model) - p["quality"]
    if errors:
        mae = sum(abs(e) for e in errors.values()) / len(errors)
        bias = sum(errors.values()) / len(errors)
        worst = max(errors.items(), key=lambda kv: (abs(kv[1]), kv[0]))
        print("fallback formula vs %d arena_approx models: mean abs error %.1f, bias %+.1f, "
              "worst %s %+d" % (len(errors), mae, bias, worst[0], worst[1]))
    tiers = {}
    for prov in catalog.values():
        for model in prov["models"].values():
            tiers[model["p402"]["tier"]] = tiers.get(model["p402"]["tier"], 0) + 1
    print("tiers: " + ", ".join("%s %d" % kv for kv in sorted(tiers.items())))


MIN_PROVIDERS = 10
MIN_MODELS = 60


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="models.dev api.json")
    parser.add_argument("output", help="catalog.json to write")
    parser.add_argument("--strict", action="store_true",
                        help="fail on any warning (missing or unusable selected model)")
    parser.add_argument("--report", action="store_true",
                        help="print per-provider counts and the quality formula's fit error")
    args = parser.parse_args(argv)

    with open(args.source, encoding="utf-8") as f:
        source = json.load(f)
    catalog = build(source, args.strict)

    errors = validate(catalog)
    routable = [p for p in catalog.values() if p["p402"]["protocol"] in ("openai", "anthropic")]
    n_models = sum(len(p["models"]) for p in catalog.values())
    n_routable = sum(len(p["models"]) for p in routable)
    if len(routable) < MIN_PROVIDERS:
        errors.append("only %d openai/anthropic providers (< %d)" % (len(routable), MIN_PROVIDERS))
    if n_routable < MIN_MODELS:
        errors.append("only %d openai/anthropic models (< %d)" % (n_routable, MIN_MODELS))
    if errors:
        for e in errors:
            print("error: " + e, file=sys.stderr)
        return 1

    text = json.dumps(catalog, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    if args.report:
        report(catalog)
        sys.stdout.flush()
    print("wrote %s: %d providers (%d openai/anthropic), %d models (%d openai/anthropic)" %
          (args.output, len(catalog), len(routable), n_models, n_routable), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
