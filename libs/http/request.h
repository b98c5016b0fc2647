// File: libs/http/request.h
// The value type an HttpServer hands to a Handler: one complete HTTP/1.x request (head and the
// whole body, already de-chunked), plus the peer address. Plain data, movable, no Beast types, so
// handlers can be unit-tested by building a Request by hand.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "libs/http/headers.h"

namespace p402::http {

// Every Request body handed to a handler has at least this much spare capacity after its
// bytes, so a SIMD JSON parser can read past the end without copying (simdjson's
// SIMDJSON_PADDING is 64).
inline constexpr size_t kRequestBodyPadding = 64;

struct Request {
  std::string method;          // as received, e.g. "POST" (methods are case-sensitive)
  std::string target;          // request-target as received, e.g. "/v1/models?limit=2"
  Headers headers;
  std::string body;            // complete body (chunked bodies are decoded)
  std::string remote_address;  // peer "ip:port", e.g. "127.0.0.1:54321" ("[::1]:5" for IPv6)
  int version = 11;            // 10 for HTTP/1.0, 11 for HTTP/1.1
  bool keep_alive = true;      // whether the connection stays open after the response

  // Target before '?' (and before any '#'); "/" style paths are returned verbatim (not decoded).
  std::string_view path() const;
  // Target after '?', without it; empty when there is none.
  std::string_view query() const;
  // The first query parameter named `name`, percent-decoded ('+' means space); nullopt when
  // absent. A parameter without '=' yields "".
  std::optional<std::string> QueryParam(std::string_view name) const;
  // First header named `name` (case-insensitive).
  std::optional<std::string_view> Header(std::string_view name) const { return headers.Get(name); }
};

// Percent-decodes `s` ('+' becomes ' ' when `plus_is_space`). Malformed escapes are kept verbatim.
std::string PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace p402::http
