// File: services/edge/core/payment_exchange.h
// Internal to the payments API (payment_api.cc, payment_topup.cc): one call in flight and the
// shared reply builders and error mapping. Not a public API.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "libs/json/value.h"
#include "services/edge/core/payment_api.h"

namespace p402::edge::payment_internal {

// One call in flight: what was asked, who asked (key endpoints), and where the answer goes.
struct Exchange {
  Exchange(PaymentCall c, std::function<void(PaymentReply)> d, SettlementClient& s,
           PolicyAdminClient& a, int64_t received)
      : call(std::move(c)),
        done(std::move(d)),
        settlement(s),
        admin(a),
        received_unix_ms(received) {}

  PaymentCall call;
  std::function<void(PaymentReply)> done;
  SettlementClient& settlement;
  PolicyAdminClient& admin;
  int64_t received_unix_ms;
  // Set by authentication (key endpoints only).
  std::string tenant_id;
  std::string api_key_id;
  // The session of a session token (it may act for that session only); empty for API keys.
  std::string token_session_id;

  void Finish(PaymentReply reply) { done(std::move(reply)); }
  // request_id, received time and the authenticated identity (session_id = `session_id`).
  v1::RequestMeta Meta(std::string_view session_id = {}) const;
};
using Ex = std::shared_ptr<Exchange>;

PaymentReply Json(int status, const json::Value& body);
// An OpenAI-shaped error.
PaymentReply Error(int status, std::string_view type, std::string_view code,
                   std::string_view message, std::optional<std::string> param = std::nullopt);
// A request validation error (the payment_json parsers) -> 400 with its reason and param.
PaymentReply BadRequest(const absl::Status& status);
// A failed settlement RPC -> 400 / 404 / 503 settlement_not_configured / 504 settlement_timeout /
// 503 settlement_unavailable (logged with the request id; transport text is never echoed).
PaymentReply SettlementError(const absl::Status& status, const std::string& request_id);
// A failed policy RPC (authentication, session lookup) -> 503 guard_unavailable (logged).
PaymentReply PolicyError(const absl::Status& status, const std::string& request_id);

// POST /v2/topup (payment_topup.cc). `ex` is authenticated.
void TopUp(const Ex& ex);

}  // namespace p402::edge::payment_internal
