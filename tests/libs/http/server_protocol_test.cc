// Protocol-level tests of libs/http/server.h: limits, malformed input, timeouts and
// shedding, answered by the server itself.
#include "libs/http/server.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "tests/libs/http/http_test_util.h"
#include "tests/libs/http/server_fixture.h"
#include "tests/support/catch_status.h"

namespace p402::http {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::CountOf;
using testing::RawConnection;
using testing::WaitFor;
using testing::Get;
using testing::MakeClient;
using testing::StartServer;
using testing::Url;
TEST_CASE("body over the limit gets 413 with an OpenAI-shaped error", "[unit][http]") {
  ServerOptions options;
  options.body_limit_bytes = 1024;
  std::atomic<int> handled{0};
  auto server = StartServer(
      [&](Request, std::shared_ptr<ResponseWriter> w) {
        ++handled;
        w->Send(Response::Text(200, "ok"));
      },
      options);
  auto client = MakeClient();
  ClientRequest req = Get(Url(*server, "/"));
  req.method = "POST";
  req.body = std::string(1024, 'a');  // exactly at the limit: accepted
  auto ok = client->FetchBlocking(req);
  REQUIRE_THAT(ok.status(), IsOk());
  CHECK(ok->status == 200);

  req.body = std::string(5000, 'a');
  auto big = client->FetchBlocking(req);
  REQUIRE_THAT(big.status(), IsOk());
  CHECK(big->status == 413);
  CHECK(big->headers.Get("connection") == "close");
  CHECK(big->body.find(R"("type":"invalid_request_error")") != std::string::npos);
  CHECK(big->body.find(R"("code":"body_too_large")") != std::string::npos);
  CHECK(big->body.find(R"("param":null)") != std::string::npos);
  CHECK(handled == 1);

  SECTION("also for chunked bodies") {
    RawConnection conn(server->port());
    std::string chunk(800, 'b');
    REQUIRE(conn.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    CHECK(conn.ReadToEof().rfind("HTTP/1.1 413 Payload Too Large", 0) == 0);
    CHECK(handled == 1);
  }
}

TEST_CASE("malformed requests get 400 + oversized headers 431", "[unit][http]") {
  ServerOptions options;
  options.header_limit_bytes = 2048;
  auto server = StartServer(
      [](Request, std::shared_ptr<ResponseWriter> w) { w->Send(Response::Text(200, "ok")); },
      options);
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("THIS IS NOT HTTP\r\n\r\n"));
    const std::string& got = conn.ReadToEof();
    CHECK(got.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
    CHECK(got.find(R"({"error":{"message":")") != std::string::npos);
    CHECK(conn.closed());
  }
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"));
    CHECK(conn.ReadToEof().rfind("HTTP/1.1 400", 0) == 0);
  }
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'x') +
                      "\r\n\r\n"));
    CHECK(conn.ReadToEof().rfind("HTTP/1.1 431", 0) == 0);
  }
  CHECK(server->stats().protocol_errors == 3);
  CHECK(server->stats().requests == 0);
}

TEST_CASE("unsupported Expect gets 417 - 100-continue gets an interim response", "[unit][http]") {
  auto server = StartServer([](Request req, std::shared_ptr<ResponseWriter> w) {
    w->Send(Response::Text(200, "got " + req.body));
  });
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      "Content-Length: 5\r\n\r\n"));
    CHECK(conn.ReadUntilContains("\r\n\r\n").rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    REQUIRE(conn.Send("hello"));
    CHECK(conn.ReadUntilContains("got hello").find("HTTP/1.1 200 OK") != std::string::npos);
  }
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n"));
    CHECK(conn.ReadToEof().rfind("HTTP/1.1 417", 0) == 0);
  }
}

TEST_CASE("read timeout answers 408 to a stalled request - idle connections are closed",
          "[unit][http]") {
  ServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  options.idle_timeout = std::chrono::milliseconds(200);
  auto server = StartServer(
      [](Request, std::shared_ptr<ResponseWriter> w) { w->Send(Response::Text(200, "ok")); },
      options);
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // header never finished
    auto start = std::chrono::steady_clock::now();
    const std::string& got = conn.ReadToEof(std::chrono::seconds(5));
    CHECK(got.rfind("HTTP/1.1 408 Request Timeout", 0) == 0);
    CHECK(got.find("request_timeout") != std::string::npos);
    CHECK(conn.closed());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  }
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    conn.ReadUntilContains("ok");
    const std::string& got = conn.ReadToEof(std::chrono::seconds(5));  // then idle
    CHECK(conn.closed());
    CHECK(CountOf(got, "HTTP/1.1") == 1);  // closed silently, no 408 for an idle connection
  }
}

TEST_CASE("HEAD gets headers only - HTTP/1.0 closes after the response", "[unit][http]") {
  auto server = StartServer([](Request, std::shared_ptr<ResponseWriter> w) {
    w->Send(Response::Text(200, "twelve bytes"));
  });
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string& got = conn.ReadUntilContains("twelve bytes");
    CHECK(CountOf(got, "Content-Length: 12") == 2);
    CHECK(CountOf(got, "twelve bytes") == 1);
  }
  {
    RawConnection conn(server->port());
    REQUIRE(conn.Send("GET / HTTP/1.0\r\n\r\n"));
    const std::string& got = conn.ReadToEof();
    CHECK(got.rfind("HTTP/1.0 200 OK", 0) == 0);
    CHECK(got.find("Connection: close") != std::string::npos);
    CHECK(conn.closed());
  }
}

TEST_CASE("connections beyond max_connections are shed with 503", "[unit][http]") {
  ServerOptions options;
  options.max_connections = 1;
  auto server = StartServer(
      [](Request, std::shared_ptr<ResponseWriter> w) { w->Send(Response::Text(200, "ok")); },
      options);
  RawConnection first(server->port());
  REQUIRE(first.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  first.ReadUntilContains("ok");
  RawConnection second(server->port());
  CHECK(second.ReadToEof().rfind("HTTP/1.1 503", 0) == 0);
  CHECK(server->stats().connections_rejected == 1);
}

TEST_CASE("garbage and smuggling attempts never take the server down", "[unit][http]") {
  std::atomic<int> handled{0};
  auto server = StartServer([&](Request, std::shared_ptr<ResponseWriter> w) {
    ++handled;
    w->Send(Response::Text(200, "ok"));
  });
  {
    // Both framings at once: refused rather than guessed (request smuggling).
    RawConnection conn(server->port());
    REQUIRE(conn.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    CHECK(conn.ReadToEof().rfind("HTTP/1.1 400", 0) == 0);
  }
  uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(seed >> 33);
  };
  const std::string alphabet = "GET POST / HTTP/1.1\r\n:Content-Length 0123456789abc\x00\xff";
  for (int i = 0; i < 100; ++i) {
    RawConnection conn(server->port());
    std::string junk;
    size_t len = 1 + next() % 300;
    for (size_t k = 0; k < len; ++k) {
      junk.push_back(i % 2 == 0 ? alphabet[next() % alphabet.size()]
                                : static_cast<char>(next() & 0xff));
    }
    conn.Send(junk + "\r\n\r\n");
    conn.ReadUntilContains("\r\n\r\n", std::chrono::milliseconds(200));
  }
  auto client = MakeClient();
  auto after = client->FetchBlocking(Get(Url(*server, "/")));
  REQUIRE_THAT(after.status(), IsOk());
  CHECK(after->status == 200);
}

}  // namespace
}  // namespace p402::http
