#include "services/edge/core/error_mapping.h"

namespace p402::edge {

HttpError ErrorForDecision(const v1::AuthorizeResponse& d) {
  HttpError e;
  e.code = d.reason();
  e.message = d.message();
  switch (d.decision()) {
    case v1::GUARD_DECISION_DENY_UNAUTHENTICATED:
      e.status = 401;
      e.type = "authentication_error";
      if (e.code.empty()) e.code = "invalid_api_key";
      if (e.message.empty()) e.message = "Incorrect API key provided.";
      break;
    case v1::GUARD_DECISION_DENY_RATE_LIMIT:
    case v1::GUARD_DECISION_DENY_DAILY_LIMIT:
    case v1::GUARD_DECISION_DENY_CONCURRENCY:
      e.status = 429;
      e.type = "rate_limit_error";
      e.retry_after_seconds = (d.retry_after_ms() + 999) / 1000;
      break;
    case v1::GUARD_DECISION_DENY_REQUEST_CAP:
    case v1::GUARD_DECISION_DENY_BUDGET:
    case v1::GUARD_DECISION_PAYMENT_REQUIRED:
      e.status = 402;
      e.type = "insufficient_quota";
      break;
    case v1::GUARD_DECISION_DENY_POLICY:
      e.status = 403;
      e.type = "permission_error";
      break;
    case v1::GUARD_DECISION_HOLD_FOR_APPROVAL:
      e.status = 409;
      e.type = "approval_required";
      break;
    default:
      e.status = 500;
      e.type = "server_error";
      e.code = "internal_error";
      e.message = "The guard returned no decision.";
      break;
  }
  if (e.message.empty()) {
    e.message = "Request denied by policy (" + e.code + ").";
  }
  return e;
}

}  // namespace p402::edge
