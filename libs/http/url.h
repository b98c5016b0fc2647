// File: libs/http/url.h
// Parsing of the absolute http(s) URLs the HTTP client accepts.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace p402::http {

struct Url {
  std::string scheme;  // "http" or "https" (lower-case)
  std::string host;    // lower-case name or IP literal (IPv6 without brackets)
  int port = 0;        // explicit or the scheme default (80/443)
  std::string target;  // path + query, at least "/"; the fragment is dropped

  bool tls() const { return scheme == "https"; }
  // Value for the Host header: host, plus ":port" when not the scheme default.
  std::string HostHeader() const;
  // "scheme://host:port": identifies interchangeable connections.
  std::string Origin() const;
};

// Errors: InvalidArgument for anything but http:// or https:// with a non-empty host, a valid
// port, no user-info, no whitespace or control characters.
absl::StatusOr<Url> ParseUrl(std::string_view url);

}  // namespace p402::http
