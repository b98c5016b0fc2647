// File: services/edge/core/error_mapping.h
// The one table that turns a guard decision into an HTTP status and an OpenAI-shaped error
// (HOUSE_STYLE 3.7). Status -> HTTP mapping of infrastructure errors lives in libs/openai
// (HttpErrorFromStatus) so every HTTP-speaking service shares it.
//
//   decision                                  HTTP  error.type             error.code (default)
//   DENY_UNAUTHENTICATED                      401   authentication_error   invalid_api_key
//   DENY_RATE_LIMIT / DAILY_LIMIT / CONCURRENCY 429 rate_limit_error       rate_limited /
//                                                                          daily_limit_exceeded /
//                                                                          concurrency_limit
//   DENY_REQUEST_CAP                          402   insufficient_quota     request_cap_exceeded
//   DENY_BUDGET                               402   insufficient_quota     budget_exhausted
//   DENY_SPEND_LIMIT                          402   insufficient_quota     spend_limit_exceeded
//   PAYMENT_REQUIRED                          402   insufficient_quota     payment_required
//   DENY_POLICY                               403   permission_error       policy_denied
//   HOLD_FOR_APPROVAL (only when not waited)  403   permission_error       approval_required
//   ALLOW / UNSPECIFIED (caller bug)          500   server_error           internal_error
//
// error.code is the guard's reason whenever it gave one. A 429 carries `Retry-After` (whole
// seconds, rounded up) and `retry-after-ms` (the OpenAI SDKs honour it) when the guard gave a
// retry_after_ms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "p402/v1/policy.pb.h"

namespace p402::edge {

struct HttpError {
  int status = 500;
  // OpenAI error.type.
  std::string type;
  // OpenAI error.code (machine-readable); never empty.
  std::string code;
  std::string message;
  // Retry hint of a 429 (0 = none): sent as retry-after-ms and, rounded up to whole seconds, as
  // Retry-After.
  int64_t retry_after_ms = 0;
};

// For a non-ALLOW decision. ALLOW / UNSPECIFIED map to 500 (a caller bug). Pure.
HttpError ErrorForDecision(const v1::AuthorizeResponse& decision);

// The Retry-After value for a hint in milliseconds: whole seconds, rounded up; 0 for <= 0.
int64_t RetryAfterSeconds(int64_t retry_after_ms);

// How a wait for approval ended without an approval: 403 permission_error with code
// "approval_denied" (an operator denied it, or it was already used) or "approval_timeout" (it
// expired, or the edge's wait limit passed). `message` may be empty (a default is used).
HttpError ApprovalError(std::string_view code, std::string_view message);

}  // namespace p402::edge
