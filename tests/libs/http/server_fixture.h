// File: tests/libs/http/server_fixture.h
// Small helpers for tests that run an HttpServer on 127.0.0.1:0 and call it with HttpClient.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "libs/http/server.h"
#include "tests/support/catch_status.h"

namespace p402::http::testing {

inline std::unique_ptr<HttpServer> StartServer(HandlerFunction fn, ServerOptions options = {}) {
  options.handler = MakeHandler(std::move(fn));
  auto server = HttpServer::Start(std::move(options));
  REQUIRE_THAT(server.status(), p402::testing::IsOk());
  return std::move(*server);
}

inline std::unique_ptr<HttpClient> MakeClient() {
  auto client = HttpClient::Create();
  REQUIRE_THAT(client.status(), p402::testing::IsOk());
  return std::move(*client);
}

inline std::string Url(const HttpServer& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

inline ClientRequest Get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  r.timeouts.total = std::chrono::seconds(10);
  return r;
}

}  // namespace p402::http::testing
