// File: libs/http/internal/parsers.h
// Internal to libs/http (includes Beast). Parsers built on beast::http::basic_parser that fill our
// own types directly, skipping Beast's field containers and bodies:
//   RequestParser  -> a p402::http::Request (server side);
//   ResponseParser -> status, Headers and body pieces pushed to a sink as they arrive (client).
// A basic_parser cannot be reset, so callers hold one in std::optional and emplace per message.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>

#include "libs/http/headers.h"
#include "libs/http/request.h"

namespace p402::http::internal {

namespace beast_http = boost::beast::http;
using beast_error_code = boost::beast::error_code;

class RequestParser final : public beast_http::basic_parser<true> {
 public:
  RequestParser(uint64_t body_limit, uint32_t header_limit) {
    this->body_limit(body_limit);
    this->header_limit(header_limit);
    this->eager(true);
  }
  Request& request() { return request_; }
  // Set once the session has looked at the Expect header of this request.
  bool expect_checked = false;

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version,
                       beast_error_code&) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    request_.version = version;
  }
  void on_response_impl(int, boost::beast::string_view, int, beast_error_code&) override {}
  void on_field_impl(beast_http::field, boost::beast::string_view name,
                     boost::beast::string_view value, beast_error_code&) override {
    request_.headers.Add(std::string(name.data(), name.size()),
                         std::string(value.data(), value.size()));
  }
  void on_header_impl(beast_error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length,
                         beast_error_code&) override {
    // The parser has already rejected lengths above body_limit, so this reserve is bounded.
    if (length) {
      request_.body.reserve(static_cast<size_t>(*length) + kRequestBodyPadding);
    }
  }
  std::size_t on_body_impl(boost::beast::string_view body, beast_error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            beast_error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 beast_error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast_error_code&) override {
    if (request_.body.capacity() < request_.body.size() + kRequestBodyPadding) {
      request_.body.reserve(request_.body.size() + kRequestBodyPadding);
    }
  }

  Request request_;
};

// Receives what a ResponseParser decodes. Body pieces are chunk-decoded.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void OnStatus(int status) = 0;
  virtual void OnField(std::string_view name, std::string_view value) = 0;
  // The head is complete (called before any OnBody of the same message).
  virtual void OnHeaderDone() = 0;
  virtual void OnBody(std::string_view piece) = 0;
};

class ResponseParser final : public beast_http::basic_parser<false> {
 public:
  explicit ResponseParser(ResponseSink& sink, std::optional<uint64_t> body_limit)
      : sink_(sink) {
    // Not boost::none: Beast 1.74 compares Content-Length against the optional itself, and any
    // value compares greater than none, so "no limit" must be spelled as the largest value.
    this->body_limit(body_limit.value_or(std::numeric_limits<uint64_t>::max()));
    this->header_limit(64 * 1024);
    this->eager(true);
  }

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view, boost::beast::string_view,
                       int, beast_error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view, int, beast_error_code&) override {
    sink_.OnStatus(code);
  }
  void on_field_impl(beast_http::field, boost::beast::string_view name,
                     boost::beast::string_view value, beast_error_code&) override {
    sink_.OnField(std::string_view(name.data(), name.size()),
                  std::string_view(value.data(), value.size()));
  }
  void on_header_impl(beast_error_code&) override { sink_.OnHeaderDone(); }
  void on_body_init_impl(boost::optional<std::uint64_t> const&, beast_error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, beast_error_code&) override {
    if (!body.empty()) {
      sink_.OnBody(std::string_view(body.data(), body.size()));
    }
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            beast_error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 beast_error_code&) override {
    if (!body.empty()) {
      sink_.OnBody(std::string_view(body.data(), body.size()));
    }
    return body.size();
  }
  void on_finish_impl(beast_error_code&) override {}

  ResponseSink& sink_;
};

}  // namespace p402::http::internal
