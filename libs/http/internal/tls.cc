#include "libs/http/internal/tls.h"

#include "libs/common/status_util.h"

namespace p402::http::internal {
namespace ssl = boost::asio::ssl;

namespace {

void HardenContext(ssl::context& ctx) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ssl::context>> MakeServerTlsContext(const std::string& cert_file,
                                                                   const std::string& key_file) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  HardenContext(*ctx);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return InvalidArgument("cannot load TLS certificate " + cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return InvalidArgument("cannot load TLS key " + key_file + ": " + ec.message());
  }
  return ctx;
}

absl::StatusOr<std::unique_ptr<ssl::context>> MakeClientTlsContext(
    bool verify_peer, const std::vector<std::string>& extra_ca_files) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  HardenContext(*ctx);
  boost::system::error_code ec;
  if (verify_peer) {
    ctx->set_default_verify_paths(ec);  // system CA store; a failure here is not fatal
    ctx->set_verify_mode(ssl::verify_peer, ec);
  } else {
    ctx->set_verify_mode(ssl::verify_none, ec);
  }
  for (const std::string& file : extra_ca_files) {
    ctx->load_verify_file(file, ec);
    if (ec) {
      return InvalidArgument("cannot load CA file " + file + ": " + ec.message());
    }
  }
  return ctx;
}

}  // namespace p402::http::internal
