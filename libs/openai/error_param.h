// File: libs/openai/error_param.h
// The OpenAI `param` of a request error ("messages[0].role"), carried as a Status payload next to
// the reason payload of libs/common/status_util, so that the edge can fill `error.param` of the
// OpenAI error body (see error_body.h). Also the one constructor every request-validation error in
// libs/openai goes through.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace p402::openai {

// Attaches the offending request parameter (OpenAI path syntax, e.g. "messages[0].content") to a
// non-OK status; an OK status is returned unchanged. Thread-safe (pure).
absl::Status WithParam(absl::Status status, std::string_view param);

// The parameter attached by WithParam, if any.
std::optional<std::string> ParamOf(const absl::Status& status);

// InvalidArgument(message) with reason `reason` (the OpenAI `code`, e.g. "invalid_type") and,
// when `param` is not empty, the param payload.
absl::Status InvalidRequest(std::string_view message, std::string_view param,
                            std::string_view reason);

}  // namespace p402::openai
