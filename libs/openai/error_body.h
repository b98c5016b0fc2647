// File: libs/openai/error_body.h
// OpenAI-style error bodies ({"error":{"message","type","param","code"}}) and the mapping from an
// absl::Status to the HTTP status and body the edge sends (house style 3.7, error model). The
// reason payload (libs/common/status_util ReasonOf) becomes `code`; the param payload
// (error_param.h ParamOf) becomes `param`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "libs/json/value.h"

namespace p402::openai {

// Returns {"error":{"message":..,"type":..,"param":..|null,"code":..|null}}. Pure, thread-safe.
std::string EncodeError(std::string_view message, std::string_view type,
                        std::optional<std::string_view> param,
                        std::optional<std::string_view> code);

// Writes the inner {"message","type","param","code"} object at the writer's position (used by
// EncodeError and by stream error events).
void WriteErrorObject(json::Writer& w, std::string_view message, std::string_view type,
                      std::optional<std::string_view> param, std::optional<std::string_view> code);

struct HttpError {
  int http_status = 500;
  // OpenAI error.type.
  std::string type;
  // OpenAI error.code (the reason payload), if any.
  std::optional<std::string> code;
  // The full JSON body.
  std::string body;
};

// Maps a non-OK status to the edge's HTTP answer:
//   InvalidArgument, FailedPrecondition, OutOfRange  400 invalid_request_error
//   Unauthenticated                                  401 authentication_error
//   PermissionDenied                                 403 permission_error
//   NotFound                                         404 not_found_error
//   ResourceExhausted                                429 rate_limit_error
//   Unavailable                                      503 server_error
//   DeadlineExceeded                                 504 timeout
//   anything else (and OK, which is a caller bug)    500 server_error
// 4xx bodies carry the status message (our 4xx messages are written for API callers) and the
// param payload. 503/504 carry the status message only when it has a reason payload (a deliberate,
// caller-safe status from P402 code) and a generic text otherwise, since transport errors name
// internal addresses; 500 always carries a generic text. `code` is the reason payload whenever
// present. Pure, thread-safe.
HttpError HttpErrorFromStatus(const absl::Status& status);

}  // namespace p402::openai
