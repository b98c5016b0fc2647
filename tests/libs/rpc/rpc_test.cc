#include <atomic>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/server_runner.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/policy.grpc.pb.h"
#include "tests/support/catch_status.h"

namespace p402::rpc {
namespace {

using p402::testing::StatusIs;

// A fake Policy service: denies with a reason through the status, echoes the request id.
class EchoPolicy final : public p402::v1::Policy::CallbackService {
 public:
  std::atomic<int> calls{0};
  std::string last_request_id;

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* ctx,
                                      const p402::v1::AuthorizeRequest* req,
                                      p402::v1::AuthorizeResponse* resp) override {
    ++calls;
    last_request_id = RequestIdOf(*ctx);
    auto* reactor = ctx->DefaultReactor();
    if (req->worst_case_micro_usd() < 0) {
      reactor->Finish(ToGrpcStatus(
          WithReason(InvalidArgument("worst_case_micro_usd must be >= 0"), "negative_estimate")));
    } else {
      resp->set_tenant_id("t1");
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
};

TEST_CASE("gRPC server binds port 0, reports it, and carries reasons and request ids",
          "[unit]") {
  EchoPolicy service;
  auto server = GrpcServer::Start({.listen = "127.0.0.1:0", .services = {&service}});
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);

  auto channel = MakeChannel("127.0.0.1:" + std::to_string((*server)->port()));
  REQUIRE(WaitForConnected(*channel, 5000));
  auto stub = p402::v1::Policy::NewStub(channel);

  {
    grpc::ClientContext ctx;
    PrepareClientContext(ctx, "req_abc", std::chrono::milliseconds(2000));
    p402::v1::AuthorizeRequest req;
    p402::v1::AuthorizeResponse resp;
    grpc::Status s = stub->Authorize(&ctx, req, &resp);
    REQUIRE(s.ok());
    CHECK(resp.tenant_id() == "t1");
    CHECK(service.last_request_id == "req_abc");
  }
  {
    grpc::ClientContext ctx;
    PrepareClientContext(ctx, "bad id with spaces", std::chrono::milliseconds(2000));
    p402::v1::AuthorizeRequest req;
    req.set_worst_case_micro_usd(-1);
    p402::v1::AuthorizeResponse resp;
    absl::Status s = FromGrpcStatus(stub->Authorize(&ctx, req, &resp));
    REQUIRE_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "must be >= 0"));
    CHECK(ReasonOf(s) == "negative_estimate");
    CHECK(service.last_request_id.empty());  // malformed ids are dropped, not propagated
  }
  CHECK(service.calls == 2);
  (*server)->Shutdown();
}

TEST_CASE("gRPC server rejects bad options", "[unit]") {
  EchoPolicy service;
  CHECK_THAT(GrpcServer::Start({.listen = "127.0.0.1:0"}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "no services"));
  CHECK_THAT(GrpcServer::Start({.listen = "nonsense", .services = {&service}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "host:port"));
}

TEST_CASE("status conversion maps every code one to one", "[unit]") {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "m");
    absl::Status out = FromGrpcStatus(ToGrpcStatus(in));
    CHECK(out.code() == in.code());
    CHECK(MessageOf(out) == "m");
  }
  CHECK(FromGrpcStatus(grpc::Status::OK).ok());
  CHECK(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", "garbage-details"))
            .code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace p402::rpc
