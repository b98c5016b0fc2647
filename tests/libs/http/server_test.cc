// Tests of libs/http/server.h: real sockets on 127.0.0.1:0, driven by HttpClient or by raw bytes.
#include "libs/http/server.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "tests/libs/http/http_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::http {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::CountOf;
using testing::RawConnection;
using testing::WaitFor;

std::unique_ptr<HttpServer> StartServer(HandlerFunction fn, ServerOptions options = {}) {
  options.handler = MakeHandler(std::move(fn));
  auto server = HttpServer::Start(std::move(options));
  REQUIRE_THAT(server.status(), IsOk());
  return std::move(*server);
}

std::unique_ptr<HttpClient> MakeClient() {
  auto client = HttpClient::Create();
  REQUIRE_THAT(client.status(), IsOk());
  return std::move(*client);
}

std::string Url(const HttpServer& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

ClientRequest Get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  r.timeouts.total = std::chrono::seconds(10);
  return r;
}

TEST_CASE("server answers a request and exposes its parts", "[unit][http]") {
  std::mutex mu;
  Request seen;
  auto server = StartServer([&](Request req, std::shared_ptr<ResponseWriter> w) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = req;
    }
    Response r = Response::Json(201, R"({"ok":true})");
    r.headers.Add("X-Echo", std::string(req.QueryParam("name").value_or("none")));
    w->Send(std::move(r));
  });
  REQUIRE(server->port() > 0);
  auto client = MakeClient();
  ClientRequest req = Get(Url(*server, "/v1/things?name=a%20b&flag"));
  req.method = "POST";
  req.headers.Add("X-Custom", "Value");
  req.body = "hello body";
  auto resp = client->FetchBlocking(req);
  REQUIRE_THAT(resp.status(), IsOk());
  CHECK(resp->status == 201);
  CHECK(resp->body == R"({"ok":true})");
  CHECK(resp->headers.Get("content-type") == "application/json");
  CHECK(resp->headers.Get("x-echo") == "a b");
  CHECK(resp->headers.Get("content-length") == "11");

  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen.method == "POST");
  CHECK(seen.path() == "/v1/things");
  CHECK(seen.query() == "name=a%20b&flag");
  CHECK(seen.QueryParam("flag") == "");
  CHECK_FALSE(seen.QueryParam("missing").has_value());
  CHECK(seen.Header("x-custom") == "Value");
  CHECK(seen.Header("X-CUSTOM") == "Value");
  CHECK(seen.Header("host") == "127.0.0.1:" + std::to_string(server->port()));
  CHECK(seen.body == "hello body");
  CHECK(seen.version == 11);
  CHECK(seen.keep_alive);
  CHECK(seen.remote_address.rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("keep-alive: a second request reuses the same connection", "[unit][http]") {
  std::mutex mu;
  std::vector<std::string> peers;
  auto server = StartServer([&](Request req, std::shared_ptr<ResponseWriter> w) {
    {
      std::lock_guard<std::mutex> lock(mu);
      peers.push_back(req.remote_address);
    }
    w->Send(Response::Text(200, "ok"));
  });
  auto client = MakeClient();
  for (int i = 0; i < 3; ++i) {
    auto resp = client->FetchBlocking(Get(Url(*server, "/")));
    REQUIRE_THAT(resp.status(), IsOk());
    REQUIRE(resp->status == 200);
  }
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(peers.size() == 3);
  CHECK(peers[0] == peers[1]);  // same client port: same TCP connection
  CHECK(peers[1] == peers[2]);
  CHECK(server->stats().connections_accepted == 1);
  CHECK(client->stats().connections_opened == 1);
  CHECK(client->stats().connections_reused == 2);
}

TEST_CASE("pipelined responses leave in request order even when handlers finish out of order",
          "[unit][http]") {
  std::vector<std::thread> threads;
  std::mutex mu;
  auto server = StartServer([&](Request req, std::shared_ptr<ResponseWriter> w) {
    std::string path(req.path());
    if (path == "/slow") {
      // Answered later, from another thread, after the fast ones were already answered.
      std::lock_guard<std::mutex> lock(mu);
      threads.emplace_back([w, path] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        w->Send(Response::Text(200, "body" + path));
      });
      return;
    }
    w->Send(Response::Text(200, "body" + path));
  });
  RawConnection conn(server->port());
  REQUIRE(conn.ok());
  REQUIRE(conn.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /fast1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /fast2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string& got = conn.ReadUntil(
      [](const std::string& s) { return CountOf(s, "HTTP/1.1 200 OK") == 3 &&
                                        s.find("body/fast2") != std::string::npos; });
  size_t a = got.find("body/slow");
  size_t b = got.find("body/fast1");
  size_t c = got.find("body/fast2");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
  CHECK_FALSE(conn.closed());
  std::lock_guard<std::mutex> lock(mu);
  for (auto& t : threads) {
    t.join();
  }
}

TEST_CASE("pipelining depth is bounded", "[unit][http]") {
  std::mutex mu;
  std::vector<std::shared_ptr<ResponseWriter>> held;
  ServerOptions options;
  options.max_pipelined_requests = 2;
  auto server = StartServer(
      [&](Request, std::shared_ptr<ResponseWriter> w) {
        std::lock_guard<std::mutex> lock(mu);
        held.push_back(std::move(w));
      },
      options);
  RawConnection conn(server->port());
  std::string four;
  for (int i = 0; i < 4; ++i) {
    four += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  REQUIRE(conn.Send(four));
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held.size() == 2;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // would a third one sneak in?
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(held.size() == 2);
    held[0]->Send(Response::Text(200, "r0"));
    held[1]->Send(Response::Text(200, "r1"));
  }
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held.size() == 4;
  }));
  std::lock_guard<std::mutex> lock(mu);
  held[2]->Send(Response::Text(200, "r2"));
  held[3]->Send(Response::Text(200, "r3"));
  const std::string& got = conn.ReadUntilContains("r3");
  CHECK(CountOf(got, "HTTP/1.1 200 OK") == 4);
}

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

TEST_CASE("streaming response arrives chunk by chunk", "[unit][http]") {
  std::atomic<int> client_chunks{0};
  std::thread producer;
  auto server = StartServer([&](Request, std::shared_ptr<ResponseWriter> w) {
    Headers h{{"Content-Type", "text/event-stream"}};
    w->StartStream(200, std::move(h));
    producer = std::thread([w, &client_chunks] {
      for (int i = 0; i < 3; ++i) {
        w->Write("data: " + std::to_string(i) + "\n\n");
        // The next chunk is written only after the client saw this one: proves no buffering.
        WaitFor([&] { return client_chunks.load() > i; });
      }
      w->Finish();
    });
  });
  auto client = MakeClient();
  std::vector<std::string> chunks;
  std::atomic<bool> done{false};
  absl::Status result;
  int status = 0;
  Headers headers;
  ClientCallbacks cb;
  cb.on_headers = [&](int s, Headers h) {
    status = s;
    headers = std::move(h);
  };
  cb.on_body = [&](std::string_view c) {
    chunks.emplace_back(c);
    ++client_chunks;
  };
  cb.on_complete = [&](absl::Status s) {
    result = s;
    done = true;
  };
  client->Send(Get(Url(*server, "/stream")), cb);
  REQUIRE(WaitFor([&] { return done.load(); }));
  producer.join();
  REQUIRE_THAT(result, IsOk());
  CHECK(status == 200);
  CHECK(headers.Get("transfer-encoding") == "chunked");
  CHECK(headers.Get("content-type") == "text/event-stream");
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0] == "data: 0\n\n");
  CHECK(chunks[2] == "data: 2\n\n");
}

TEST_CASE("client disconnect fires OnClose exactly once", "[unit][http]") {
  std::atomic<int> closes{0};
  std::shared_ptr<ResponseWriter> held;
  std::mutex mu;
  auto server = StartServer([&](Request, std::shared_ptr<ResponseWriter> w) {
    w->OnClose([&] { ++closes; });
    w->StartStream(200, {{"Content-Type", "text/event-stream"}});
    w->Write("data: first\n\n");
    std::lock_guard<std::mutex> lock(mu);
    held = w;
  });
  auto client = MakeClient();
  std::atomic<bool> got_body{false};
  std::atomic<bool> done{false};
  absl::Status result;
  ClientCallbacks cb;
  cb.on_body = [&](std::string_view) { got_body = true; };
  cb.on_complete = [&](absl::Status s) {
    result = s;
    done = true;
  };
  auto call = client->Send(Get(Url(*server, "/")), cb);
  REQUIRE(WaitFor([&] { return got_body.load(); }));
  call->Cancel();
  REQUIRE(WaitFor([&] { return done.load(); }));
  CHECK_THAT(result, StatusIs(absl::StatusCode::kCancelled));
  REQUIRE(WaitFor([&] { return closes.load() == 1; }));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(held->closed());
  held->Write("data: ignored\n\n");  // a no-op, not a crash
  held->Finish();
  bool late = false;
  held->OnClose([&] { late = true; });  // registering after the fact runs it at once
  CHECK(late);
  CHECK(closes == 1);
}

TEST_CASE("Abort ends a stream early and the client sees a truncated body", "[unit][http]") {
  auto server = StartServer([](Request req, std::shared_ptr<ResponseWriter> w) {
    if (req.path() == "/before-start") {
      w->Abort();
      return;
    }
    w->StartStream(200, {{"Content-Type", "text/event-stream"}});
    w->Write("data: partial\n\n");
    w->Abort();
    w->Write("data: ignored\n\n");
    w->Finish();
  });
  auto client = MakeClient();
  std::string body;
  std::atomic<bool> done{false};
  absl::Status result;
  ClientCallbacks cb;
  cb.on_body = [&](std::string_view c) { body.append(c); };
  cb.on_complete = [&](absl::Status s) {
    result = s;
    done = true;
  };
  client->Send(Get(Url(*server, "/stream")), cb);
  REQUIRE(WaitFor([&] { return done.load(); }));
  CHECK_THAT(result, StatusIs(absl::StatusCode::kUnavailable, "before the response completed"));
  CHECK(body == "data: partial\n\n");
  CHECK_THAT(client->FetchBlocking(Get(Url(*server, "/before-start"))).status(),
             StatusIs(absl::StatusCode::kUnavailable));
}

TEST_CASE("a handler that drops its writer yields 500 - a throwing handler too", "[unit][http]") {
  auto server = StartServer([](Request req, std::shared_ptr<ResponseWriter> w) {
    if (req.path() == "/throw") {
      throw std::runtime_error("boom");
    }
    // drop `w`
  });
  auto client = MakeClient();
  auto a = client->FetchBlocking(Get(Url(*server, "/drop")));
  REQUIRE_THAT(a.status(), IsOk());
  CHECK(a->status == 500);
  CHECK(a->body.find("server_error") != std::string::npos);
  auto b = client->FetchBlocking(Get(Url(*server, "/throw")));
  REQUIRE_THAT(b.status(), IsOk());
  CHECK(b->status == 500);
  CHECK(b->body.find("boom") == std::string::npos);  // no internal detail leaks
}

TEST_CASE("a client that stops reading overflows the stream buffer and is cut", "[unit][http]") {
  ServerOptions options;
  options.max_stream_buffer_bytes = 1 << 20;
  std::atomic<bool> closed{false};
  std::atomic<size_t> max_buffered{0};
  std::thread producer;
  auto server = StartServer(
      [&](Request, std::shared_ptr<ResponseWriter> w) {
        w->OnClose([&] { closed = true; });
        w->StartStream(200, {});
        producer = std::thread([w, &closed, &max_buffered] {
          std::string chunk(256 * 1024, 'z');
          for (int i = 0; i < 400 && !w->closed(); ++i) {
            w->Write(chunk);
            max_buffered = std::max(max_buffered.load(), w->buffered_bytes());
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        });
      },
      options);
  RawConnection conn(server->port());
  conn.SetReceiveBuffer(4096);
  REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Never read: the server must give up on us instead of buffering 100 MiB.
  REQUIRE(WaitFor([&] { return closed.load(); }, std::chrono::seconds(20)));
  producer.join();
  CHECK(max_buffered.load() < 8u << 20);
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

TEST_CASE("shutdown aborts in-flight streams and returns promptly", "[unit][http]") {
  ServerOptions options;
  options.shutdown_timeout = std::chrono::milliseconds(200);
  std::atomic<bool> closed{false};
  std::shared_ptr<ResponseWriter> held;
  std::mutex mu;
  auto server = StartServer(
      [&](Request, std::shared_ptr<ResponseWriter> w) {
        w->OnClose([&] { closed = true; });
        w->StartStream(200, {});
        std::lock_guard<std::mutex> lock(mu);
        held = std::move(w);
      },
      options);
  RawConnection conn(server->port());
  REQUIRE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  conn.ReadUntilContains("\r\n\r\n");
  RawConnection idle(server->port());
  auto start = std::chrono::steady_clock::now();
  server->Shutdown();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  CHECK(closed.load());
  std::lock_guard<std::mutex> lock(mu);
  held->Write("after shutdown");  // no crash
  held.reset();
  server.reset();
}

TEST_CASE("Start validates its options", "[unit][http]") {
  ServerOptions options;
  CHECK_THAT(HttpServer::Start(options).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "handler"));
  options.handler = MakeHandler([](Request, std::shared_ptr<ResponseWriter>) {});
  options.listen = "nonsense";
  CHECK_THAT(HttpServer::Start(options).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "host:port"));
  options.listen = "127.0.0.1:0";
  auto first = HttpServer::Start(options);
  REQUIRE_THAT(first.status(), IsOk());
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  CHECK_THAT(HttpServer::Start(options).status(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace p402::http
