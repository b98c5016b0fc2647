// File: services/edge/http/management_handler.h
// The HTTP side of the management API: an http::Handler that turns a libs/http Request into a
// ManagementCall (method, path, decoded query, bearer token, body, request id), runs it through
// ManagementApi and sends the ManagementReply as a JSON response with x-request-id. Counted in
// p402_edge_requests_total{route="management"}. No business logic.
#pragma once

#include <memory>

#include "libs/http/handler.h"
#include "services/edge/core/edge_metrics.h"
#include "services/edge/core/management_api.h"

namespace p402::edge {

// `api` and `metrics` must outlive the handler and every call in flight.
std::shared_ptr<http::Handler> MakeManagementHandler(ManagementApi& api, EdgeMetrics& metrics);

}  // namespace p402::edge
