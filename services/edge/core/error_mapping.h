// File: services/edge/core/error_mapping.h
// The one table that turns a guard decision into an HTTP status and an OpenAI-shaped error
// (HOUSE_STYLE 3.7). Status -> HTTP mapping of infrastructure errors lives in libs/openai
// (HttpErrorFromStatus) so every HTTP-speaking service shares it.
#pragma once

#include <string>

#include "p402/v1/policy.pb.h"

namespace p402::edge {

struct HttpError {
  int status = 500;
  // OpenAI error.type.
  std::string type;
  // OpenAI error.code (machine-readable).
  std::string code;
  std::string message;
  // Retry-After seconds to send (0 = no header).
  int64_t retry_after_seconds = 0;
};

// For a non-ALLOW decision. ALLOW / UNSPECIFIED map to 500 (a caller bug).
HttpError ErrorForDecision(const v1::AuthorizeResponse& decision);

}  // namespace p402::edge
