// File: libs/http/internal/stream.h
// Internal to libs/http (includes Asio SSL). A TCP byte stream that is either plain or TLS, chosen
// at construction; server sessions and client connections do their I/O through it so the rest of
// their code is written once.
#pragma once

#include <optional>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

namespace p402::http::internal {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

class Stream {
 public:
  // `tls` null for plain TCP; otherwise the context must outlive the stream.
  Stream(tcp::socket socket, ssl::context* tls) : plain_(std::move(socket)) {
    if (tls != nullptr) {
      tls_.emplace(std::move(plain_), *tls);
    }
  }
  // A not yet connected stream (client side).
  Stream(asio::io_context& ioc, ssl::context* tls) : plain_(ioc) {
    if (tls != nullptr) {
      tls_.emplace(ioc, *tls);
    }
  }
  bool is_tls() const { return tls_.has_value(); }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  ssl::stream<tcp::socket>& tls() { return *tls_; }

  template <class Buffers, class Handler>
  void AsyncReadSome(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Buffers, class Handler>
  void AsyncWrite(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      asio::async_write(plain_, buffers, std::forward<Handler>(handler));
    }
  }

 private:
  tcp::socket plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
};

}  // namespace p402::http::internal
