#include "services/edge/core/error_mapping.h"

namespace p402::edge {
namespace {

void Set(HttpError& e, int status, std::string_view type, std::string_view default_code) {
  e.status = status;
  e.type = std::string(type);
  if (e.code.empty()) {
    e.code = std::string(default_code);
  }
}

}  // namespace

int64_t RetryAfterSeconds(int64_t retry_after_ms) {
  return retry_after_ms <= 0 ? 0 : (retry_after_ms + 999) / 1000;
}

HttpError ErrorForDecision(const v1::AuthorizeResponse& d) {
  HttpError e;
  e.code = d.reason();
  e.message = d.message();
  switch (d.decision()) {
    case v1::GUARD_DECISION_DENY_UNAUTHENTICATED:
      Set(e, 401, "authentication_error", "invalid_api_key");
      if (e.message.empty()) e.message = "Incorrect API key provided.";
      break;
    case v1::GUARD_DECISION_DENY_RATE_LIMIT:
      Set(e, 429, "rate_limit_error", "rate_limited");
      e.retry_after_ms = d.retry_after_ms();
      break;
    case v1::GUARD_DECISION_DENY_DAILY_LIMIT:
      Set(e, 429, "rate_limit_error", "daily_limit_exceeded");
      e.retry_after_ms = d.retry_after_ms();
      break;
    case v1::GUARD_DECISION_DENY_CONCURRENCY:
      Set(e, 429, "rate_limit_error", "concurrency_limit");
      e.retry_after_ms = d.retry_after_ms();
      break;
    case v1::GUARD_DECISION_DENY_REQUEST_CAP:
      Set(e, 402, "insufficient_quota", "request_cap_exceeded");
      break;
    case v1::GUARD_DECISION_DENY_BUDGET:
      Set(e, 402, "insufficient_quota", "budget_exhausted");
      break;
    case v1::GUARD_DECISION_DENY_SPEND_LIMIT:
      Set(e, 402, "insufficient_quota", "spend_limit_exceeded");
      break;
    case v1::GUARD_DECISION_PAYMENT_REQUIRED:
      Set(e, 402, "insufficient_quota", "payment_required");
      break;
    case v1::GUARD_DECISION_DENY_POLICY:
      Set(e, 403, "permission_error", "policy_denied");
      break;
    case v1::GUARD_DECISION_HOLD_FOR_APPROVAL:
      // The pipeline waits for the approval; this row is for a hold it cannot wait for (e.g. a
      // second hold after the approval was used).
      Set(e, 403, "permission_error", "approval_required");
      break;
    default:
      e.status = 500;
      e.type = "server_error";
      e.code = "internal_error";
      e.message = "The guard returned no decision.";
      break;
  }
  if (e.retry_after_ms < 0) {
    e.retry_after_ms = 0;
  }
  if (e.message.empty()) {
    e.message = "Request denied by policy (" + e.code + ").";
  }
  return e;
}

HttpError ApprovalError(std::string_view code, std::string_view message) {
  HttpError e;
  e.status = 403;
  e.type = "permission_error";
  e.code = std::string(code);
  e.message = std::string(message);
  if (e.message.empty()) {
    e.message = code == "approval_timeout"
                    ? "The request needed approval and none was given in time."
                    : "The request needed approval and it was denied.";
  }
  return e;
}

}  // namespace p402::edge
