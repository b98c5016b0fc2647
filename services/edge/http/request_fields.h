// File: services/edge/http/request_fields.h
// What every edge HTTP handler reads from a libs/http Request the same way: the request id, the
// bearer token and the decoded query. Shared by the chat, management and payment handlers.
#pragma once

#include <string>
#include <string_view>

#include "libs/http/request.h"
#include "services/edge/core/management_json.h"

namespace p402::edge {

// The client's x-request-id when it is a valid id (libs/common/request_id.h), else a new one.
std::string RequestIdOf(const http::Request& request);

// The token of "Authorization: Bearer <token>" (scheme case-insensitive, surrounding spaces
// trimmed); "" when absent or another scheme.
std::string BearerToken(const http::Request& request);

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}} ('+' is a space); empty pieces ("a=1&&b") are skipped.
QueryParams DecodeQuery(std::string_view query);

}  // namespace p402::edge
