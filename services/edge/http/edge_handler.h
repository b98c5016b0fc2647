// File: services/edge/http/edge_handler.h
// The edge's HTTP routes (an http::Handler): OpenAI-compatible chat completions (also at
// /v2/chat/completions and /api/v2/chat/completions), GET /v1/models, and hands the management API
// (/v2/keys, /v2/policies, ...) to its own handler. Translates between
// libs/http's Request/ResponseWriter and the core's ChatCall/ResponseSink; no business logic.
#pragma once

#include <memory>

#include "libs/http/handler.h"
#include "services/edge/core/chat_pipeline.h"

namespace p402::edge {

// `pipeline`, `metrics` must outlive the handler. `management`, when set, serves the management
// API paths (IsManagementPath in core/management_api.h: /v2/tenant, /v2/keys, /v2/policies,
// /v2/sessions, /v2/approvals); without it they are 404 unknown_url. `payments`, when set,
// serves the x402 and ledger paths (IsPaymentPath in core/payment_api.h: the facilitator API
// /verify /settle /supported (also under /v2/), /v2/topup, /v2/balance, /v2/usage, /v2/bazaar/...).
std::shared_ptr<http::Handler> MakeEdgeHandler(ChatPipeline& pipeline, CatalogSnapshot catalog,
                                               EdgeMetrics& metrics,
                                               std::shared_ptr<http::Handler> management = nullptr,
                                               std::shared_ptr<http::Handler> payments = nullptr);

}  // namespace p402::edge
