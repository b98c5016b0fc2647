// File: services/edge/http/payment_handler.h
// The HTTP side of the payments API (docs/PAYMENTS_API.md): an http::Handler that turns a
// libs/http Request into a PaymentCall (method, path, decoded query, bearer token, body, request
// id, X-PAYMENT / PAYMENT-SIGNATURE headers, resource URL "http://<Host><path>"), runs it through
// PaymentApi and sends the PaymentReply as a JSON response with x-request-id (and
// cache-control: no-store unless the reply set one). Counted in
// p402_edge_requests_total{route="payments"}. No business logic.
#pragma once

#include <memory>

#include "libs/http/handler.h"
#include "services/edge/core/edge_metrics.h"
#include "services/edge/core/payment_api.h"

namespace p402::edge {

// `api` and `metrics` must outlive the handler and every call in flight.
std::shared_ptr<http::Handler> MakePaymentHandler(PaymentApi& api, EdgeMetrics& metrics);

}  // namespace p402::edge
