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
TEST_CASE("server answers a request and exposes its parts", "[unit][http]") {
  std::mutex mu;
  Request seen;
  std::atomic<bool> padded{false};
  auto server = StartServer([&](Request req, std::shared_ptr<ResponseWriter> w) {
    padded = req.body.capacity() >= req.body.size() + kRequestBodyPadding;
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
  CHECK(padded.load());
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
