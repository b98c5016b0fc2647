// File: services/edge/http/edge_handler.h
// The edge's HTTP routes (an http::Handler): OpenAI-compatible chat completions (also at
// /v2/chat/completions and /api/v2/chat/completions) and GET /v1/models. Translates between
// libs/http's Request/ResponseWriter and the core's ChatCall/ResponseSink; no business logic.
#pragma once

#include <memory>

#include "libs/http/handler.h"
#include "services/edge/core/chat_pipeline.h"

namespace p402::edge {

// `pipeline`, `metrics` must outlive the handler.
std::shared_ptr<http::Handler> MakeEdgeHandler(ChatPipeline& pipeline, CatalogSnapshot catalog,
                                               EdgeMetrics& metrics);

}  // namespace p402::edge
