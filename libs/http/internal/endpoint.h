// File: libs/http/internal/endpoint.h
// Internal to libs/http. Splitting "host:port" strings (listen addresses, URL authorities).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace p402::http::internal {

struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;
};

// Parses "host:port", "[v6]:port". Port must be 0..65535. nullopt when malformed.
std::optional<HostPort> SplitHostPort(std::string_view text);

}  // namespace p402::http::internal
