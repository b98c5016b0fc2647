// Tests of libs/http/client.h against HttpServer, a silent listener and closed ports.
#include "libs/http/client.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/http/server.h"
#include "libs/http/url.h"
#include "tests/libs/http/http_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::http {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::WaitFor;

std::unique_ptr<HttpServer> StartServer(HandlerFunction fn, ServerOptions options = {}) {
  options.handler = MakeHandler(std::move(fn));
  auto server = HttpServer::Start(std::move(options));
  REQUIRE_THAT(server.status(), IsOk());
  return std::move(*server);
}

std::unique_ptr<HttpClient> MakeClient(ClientOptions options = {}) {
  auto client = HttpClient::Create(std::move(options));
  REQUIRE_THAT(client.status(), IsOk());
  return std::move(*client);
}

ClientRequest Get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  r.timeouts.total = std::chrono::seconds(10);
  return r;
}

// Collects one call's callbacks.
struct Recorder {
  std::mutex mu;
  int status = 0;
  std::string body;
  std::atomic<bool> done{false};
  absl::Status result;
  ClientCallbacks Callbacks() {
    ClientCallbacks cb;
    cb.on_headers = [this](int s, Headers) {
      std::lock_guard<std::mutex> lock(mu);
      status = s;
    };
    cb.on_body = [this](std::string_view c) {
      std::lock_guard<std::mutex> lock(mu);
      body.append(c);
    };
    cb.on_complete = [this](absl::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(s);
      done = true;
    };
    return cb;
  }
};

TEST_CASE("headers timeout fires against a server that never answers", "[unit][http]") {
  testing::SilentListener silent;
  auto client = MakeClient();
  ClientRequest req = Get("http://127.0.0.1:" + std::to_string(silent.port()) + "/v1/x");
  req.method = "POST";
  req.body = "{}";
  req.timeouts.headers = std::chrono::milliseconds(300);
  req.timeouts.total = std::chrono::milliseconds(0);
  auto start = std::chrono::steady_clock::now();
  auto resp = client->FetchBlocking(req);
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_THAT(resp.status(), StatusIs(absl::StatusCode::kDeadlineExceeded, "headers timeout"));
  CHECK(elapsed >= std::chrono::milliseconds(250));
  CHECK(elapsed < std::chrono::seconds(3));
}

TEST_CASE("connect timeout fires when the server's accept queue is full", "[unit][http]") {
  testing::SilentListener full(0);
  full.Saturate(8);  // later SYNs are dropped by the kernel, so connects hang
  auto client = MakeClient();
  ClientRequest req = Get("http://127.0.0.1:" + std::to_string(full.port()) + "/");
  req.timeouts.connect = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto resp = client->FetchBlocking(req);
  CHECK_THAT(resp.status(), StatusIs(absl::StatusCode::kDeadlineExceeded, "connect timeout"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("idle timeout fires on a stalled stream after the first bytes", "[unit][http]") {
  std::mutex mu;
  std::vector<std::shared_ptr<ResponseWriter>> held;
  auto server = StartServer([&](Request, std::shared_ptr<ResponseWriter> w) {
    w->StartStream(200, {{"Content-Type", "text/event-stream"}});
    w->Write("data: one\n\n");
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(std::move(w));  // ...and then silence
  });
  auto client = MakeClient();
  ClientRequest req = Get("http://127.0.0.1:" + std::to_string(server->port()) + "/");
  req.timeouts.idle = std::chrono::milliseconds(300);
  Recorder rec;
  client->Send(req, rec.Callbacks());
  REQUIRE(WaitFor([&] { return rec.done.load(); }));
  std::lock_guard<std::mutex> lock(rec.mu);
  CHECK_THAT(rec.result, StatusIs(absl::StatusCode::kDeadlineExceeded, "idle timeout"));
  CHECK(rec.status == 200);
  CHECK(rec.body == "data: one\n\n");
}

TEST_CASE("total timeout bounds a slow but steady stream", "[unit][http]") {
  std::atomic<bool> stop{false};
  std::thread producer;
  auto server = StartServer([&](Request, std::shared_ptr<ResponseWriter> w) {
    w->StartStream(200, {});
    producer = std::thread([w, &stop] {
      while (!stop && !w->closed()) {
        w->Write("x");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  });
  auto client = MakeClient();
  ClientRequest req = Get("http://127.0.0.1:" + std::to_string(server->port()) + "/");
  req.timeouts.idle = std::chrono::milliseconds(200);
  req.timeouts.total = std::chrono::milliseconds(400);
  auto resp = client->FetchBlocking(req);
  CHECK_THAT(resp.status(), StatusIs(absl::StatusCode::kDeadlineExceeded, "total timeout"));
  stop = true;
  producer.join();
}

TEST_CASE("on_headers always runs before the first on_body", "[unit][http]") {
  auto server = StartServer([](Request req, std::shared_ptr<ResponseWriter> w) {
    if (req.path() == "/stream") {
      w->StartStream(200, {});
      w->Write("abc");
      w->Finish();
      return;
    }
    w->Send(Response::Text(200, "head and body in one segment"));
  });
  auto client = MakeClient();
  for (const char* path : {"/plain", "/stream"}) {
    std::mutex mu;
    std::string order;
    std::atomic<bool> done{false};
    ClientCallbacks cb;
    cb.on_headers = [&](int, Headers) {
      std::lock_guard<std::mutex> lock(mu);
      order += "H";
    };
    cb.on_body = [&](std::string_view) {
      std::lock_guard<std::mutex> lock(mu);
      order += "B";
    };
    cb.on_complete = [&](absl::Status) { done = true; };
    client->Send(Get("http://127.0.0.1:" + std::to_string(server->port()) + path), cb);
    REQUIRE(WaitFor([&] { return done.load(); }));
    std::lock_guard<std::mutex> lock(mu);
    INFO(path << " order=" << order);
    REQUIRE(order.size() >= 2);
    CHECK(order[0] == 'H');
    CHECK(order.find('H', 1) == std::string::npos);
  }
}

TEST_CASE("connection refused is Unavailable - a bad URL is InvalidArgument", "[unit][http]") {
  auto client = MakeClient();
  auto refused = client->FetchBlocking(
      Get("http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/"));
  CHECK_THAT(refused.status(), StatusIs(absl::StatusCode::kUnavailable, "cannot connect"));
  CHECK_THAT(client->FetchBlocking(Get("ftp://example.com/")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "scheme"));
  CHECK_THAT(client->FetchBlocking(Get("http:///nohost")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("localhost is resolved asynchronously", "[unit][http]") {
  auto server = StartServer(
      [](Request, std::shared_ptr<ResponseWriter> w) { w->Send(Response::Text(200, "hi")); });
  auto client = MakeClient();
  auto resp = client->FetchBlocking(Get("http://localhost:" + std::to_string(server->port())));
  REQUIRE_THAT(resp.status(), IsOk());
  CHECK(resp->body == "hi");
}

TEST_CASE("a cancelled call's connection is not reused", "[unit][http]") {
  std::mutex mu;
  std::vector<std::string> peers;
  std::vector<std::shared_ptr<ResponseWriter>> held;
  auto server = StartServer([&](Request req, std::shared_ptr<ResponseWriter> w) {
    std::lock_guard<std::mutex> lock(mu);
    peers.push_back(req.remote_address);
    if (req.path() == "/hang") {
      held.push_back(std::move(w));
      return;
    }
    w->Send(Response::Text(200, "ok"));
  });
  auto client = MakeClient();
  std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  REQUIRE_THAT(client->FetchBlocking(Get(base + "/a")).status(), IsOk());
  Recorder rec;
  auto call = client->Send(Get(base + "/hang"), rec.Callbacks());
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held.size() == 1;
  }));
  call->Cancel();
  call->Cancel();  // idempotent
  REQUIRE(WaitFor([&] { return rec.done.load(); }));
  CHECK_THAT(rec.result, StatusIs(absl::StatusCode::kCancelled));
  REQUIRE_THAT(client->FetchBlocking(Get(base + "/b")).status(), IsOk());
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(peers.size() == 3);
  CHECK(peers[0] == peers[1]);  // /a's connection was reused for /hang
  CHECK(peers[2] != peers[1]);  // but not after the cancel
}

TEST_CASE("a pooled connection closed by the server is replaced transparently", "[unit][http]") {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(100);
  auto server = StartServer(
      [](Request, std::shared_ptr<ResponseWriter> w) { w->Send(Response::Text(200, "ok")); },
      options);
  auto client = MakeClient();
  std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/";
  REQUIRE_THAT(client->FetchBlocking(Get(url)).status(), IsOk());
  REQUIRE(WaitFor([&] { return server->stats().connections_active == 0; }));
  auto again = client->FetchBlocking(Get(url));
  REQUIRE_THAT(again.status(), IsOk());
  CHECK(again->body == "ok");
  CHECK(client->stats().connections_opened == 2);
}

TEST_CASE("response body limit is enforced", "[unit][http]") {
  auto server = StartServer([](Request, std::shared_ptr<ResponseWriter> w) {
    w->Send(Response::Text(200, std::string(10000, 'q')));
  });
  auto client = MakeClient();
  ClientRequest req = Get("http://127.0.0.1:" + std::to_string(server->port()) + "/");
  req.max_response_body_bytes = 1000;
  CHECK_THAT(client->FetchBlocking(req).status(),
             StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_CASE("destroying the client completes calls in flight with Cancelled", "[unit][http]") {
  testing::SilentListener silent;
  auto client = MakeClient();
  Recorder rec;
  auto call =
      client->Send(Get("http://127.0.0.1:" + std::to_string(silent.port()) + "/"),
                   rec.Callbacks());
  client.reset();
  CHECK(rec.done.load());
  CHECK_THAT(rec.result, StatusIs(absl::StatusCode::kCancelled));
  call->Cancel();  // safe after the client is gone
}

TEST_CASE("many concurrent calls over two io threads", "[unit][http]") {
  ServerOptions options;
  options.io_threads = 2;
  auto server = StartServer(
      [](Request req, std::shared_ptr<ResponseWriter> w) {
        w->Send(Response::Text(200, std::string(req.path())));
      },
      options);
  ClientOptions copts;
  copts.io_threads = 2;
  auto client = MakeClient(copts);
  constexpr int kCalls = 200;
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  for (int i = 0; i < kCalls; ++i) {
    std::string path = "/p" + std::to_string(i);
    client->Fetch(Get("http://127.0.0.1:" + std::to_string(server->port()) + path),
                  [&, path](absl::StatusOr<ClientResponse> r) {
                    if (r.ok() && r->status == 200 && r->body == path) {
                      ++ok;
                    }
                    ++finished;
                  });
  }
  REQUIRE(WaitFor([&] { return finished.load() == kCalls; }, std::chrono::seconds(20)));
  CHECK(ok == kCalls);
}

TEST_CASE("ParseUrl", "[unit][http]") {
  auto u = ParseUrl("HTTPS://API.Example.com/v1/chat?x=1#frag");
  REQUIRE_THAT(u.status(), IsOk());
  CHECK(u->scheme == "https");
  CHECK(u->host == "api.example.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/v1/chat?x=1");
  CHECK(u->HostHeader() == "api.example.com");
  auto v6 = ParseUrl("http://[::1]:8080");
  REQUIRE_THAT(v6.status(), IsOk());
  CHECK(v6->host == "::1");
  CHECK(v6->target == "/");
  CHECK(v6->HostHeader() == "[::1]:8080");
  CHECK(v6->Origin() == "http://[::1]:8080");
  CHECK_FALSE(ParseUrl("http://user:pw@host/").ok());
  CHECK_FALSE(ParseUrl("http://host:99999/").ok());
  CHECK_FALSE(ParseUrl("http://host/a b").ok());
  CHECK_FALSE(ParseUrl("host/path").ok());
}

}  // namespace
}  // namespace p402::http
