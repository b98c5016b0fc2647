// File: libs/common/request_id.h
// Request ids: accepted from x-request-id when well-formed, otherwise generated at the edge.
#pragma once

#include <string>
#include <string_view>

namespace p402 {

// A new random id, "req_" + 24 lowercase hex chars. Thread-safe.
std::string NewRequestId();
// True for ids we accept from callers: 1..128 chars of [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view id);

}  // namespace p402
