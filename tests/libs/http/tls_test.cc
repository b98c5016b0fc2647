// HTTPS between HttpServer and HttpClient with a self-signed certificate made at test time.
#include <atomic>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "libs/http/server.h"
#include "tests/libs/http/http_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::http {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

TEST_CASE("TLS: verified request + keep-alive reuse + streaming + untrusted cert rejected",
          "[unit][http]") {
  testing::TempDir dir;
  testing::CertFiles cert = testing::MakeSelfSignedCert(dir.path());
  REQUIRE(cert.ok);

  ServerOptions options;
  options.tls = ServerTlsOptions{cert.cert, cert.key};
  options.handler = MakeHandler([](Request req, std::shared_ptr<ResponseWriter> w) {
    if (req.path() == "/stream") {
      w->StartStream(200, {{"Content-Type", "text/event-stream"}});
      w->Write("data: a\n\n");
      w->Write("data: b\n\n");
      w->Finish();
      return;
    }
    w->Send(Response::Text(200, "secure " + req.remote_address));
  });
  auto server = HttpServer::Start(options);
  REQUIRE_THAT(server.status(), IsOk());
  std::string base = "https://localhost:" + std::to_string((*server)->port());

  ClientOptions copts;
  copts.ca_files = {cert.cert};
  auto client = HttpClient::Create(copts);
  REQUIRE_THAT(client.status(), IsOk());
  ClientRequest req;
  req.url = base + "/";
  req.timeouts.total = std::chrono::seconds(10);
  auto first = (*client)->FetchBlocking(req);
  REQUIRE_THAT(first.status(), IsOk());
  CHECK(first->status == 200);
  CHECK(first->body.rfind("secure 127.0.0.1:", 0) == 0);
  auto second = (*client)->FetchBlocking(req);
  REQUIRE_THAT(second.status(), IsOk());
  CHECK(second->body == first->body);  // same peer port: the TLS connection was reused
  CHECK((*client)->stats().connections_opened == 1);

  req.url = base + "/stream";
  auto stream = (*client)->FetchBlocking(req);
  REQUIRE_THAT(stream.status(), IsOk());
  CHECK(stream->body == "data: a\n\ndata: b\n\n");

  // Without the test CA, verification fails.
  auto strict = HttpClient::Create();
  REQUIRE_THAT(strict.status(), IsOk());
  req.url = base + "/";
  CHECK_THAT((*strict)->FetchBlocking(req).status(),
             StatusIs(absl::StatusCode::kUnavailable, "TLS handshake"));

  // Host-name verification: the cert has no SAN for this name.
  req.url = "https://127.0.0.2:" + std::to_string((*server)->port()) + "/";
  auto wrong_name = (*client)->FetchBlocking(req);
  CHECK_FALSE(wrong_name.ok());

  // A plaintext client talking to the TLS port gets an error, and the server survives.
  req.url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/";
  CHECK_FALSE((*client)->FetchBlocking(req).ok());
  req.url = base + "/";
  CHECK_THAT((*client)->FetchBlocking(req).status(), IsOk());
}

TEST_CASE("TLS server options are validated", "[unit][http]") {
  ServerOptions options;
  options.tls = ServerTlsOptions{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  options.handler = MakeHandler([](Request, std::shared_ptr<ResponseWriter>) {});
  CHECK_THAT(HttpServer::Start(options).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "certificate"));
  ClientOptions copts;
  copts.ca_files = {"/nonexistent/ca.pem"};
  CHECK_THAT(HttpClient::Create(copts).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "CA file"));
}

}  // namespace
}  // namespace p402::http
