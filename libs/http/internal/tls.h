// File: libs/http/internal/tls.h
// Internal to libs/http (includes Asio SSL / OpenSSL). Builds the TLS contexts of the server
// (certificate + key from PEM files) and the client (peer verification against the system CAs
// plus optional extra CA files; TLS 1.2+ only).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"

namespace p402::http::internal {

// Errors: InvalidArgument naming the file that could not be loaded.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

// `verify_peer` false disables certificate checks (tests against self-signed servers only).
// Errors: InvalidArgument when a CA file cannot be loaded.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    bool verify_peer, const std::vector<std::string>& extra_ca_files);

}  // namespace p402::http::internal
