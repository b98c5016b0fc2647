// File: libs/openai/models.h
// GET /v1/models (and /v1/models/{id}) bodies in OpenAI's shape, from the router's catalog
// (p402.v1.ListModels), with a `p402` member per model: provider, USD prices per 1M tokens (exact
// decimals from micro-USD), limits, capabilities, tier and quality.
#pragma once

#include <cstdint>
#include <string>

#include "p402/v1/router.pb.h"

namespace p402::openai {

// Appends {"object":"list","data":[model...]} in catalog order. A model id offered by more than
// one provider is listed as "provider/model" (accepted back in `model`) so ids stay unique; other
// ids are bare ("gpt-4o-mini"). `created_unix_s` is written as every model's `created` (the
// catalog has no per-model date; pass the catalog load time). Pure, thread-safe.
void EncodeModelList(const p402::v1::ListModelsResponse& models, int64_t created_unix_s,
                     std::string& out);

// Appends one model object:
//   {"id","object":"model","created","owned_by":provider,
//    "p402":{"provider","model","display_name","pricing":{"input_per_1m_usd","output_per_1m_usd",
//            "cache_read_per_1m_usd"?,"cache_write_per_1m_usd"?},"context_window",
//            "max_output_tokens","capabilities","tier","quality","typical_latency_ms",
//            "available"}}
// `qualified_id` selects "provider/model" over the bare model id. Pure, thread-safe.
void EncodeModel(const p402::v1::ModelInfo& model, int64_t created_unix_s, bool qualified_id,
                 std::string& out);

}  // namespace p402::openai
