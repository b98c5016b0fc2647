// PolicyServer end to end over gRPC: the real composition root on port 0, called through the
// generated stub, with the in-memory store and with PostgreSQL.
#include "services/policy/policy_server.h"

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "libs/metrics/text_lookup.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/policy.grpc.pb.h"
#include "tests/support/test_env.h"

namespace p402::policy {
namespace {

constexpr char kKey[] = "sk-p402-test-0123456789abcdef";

PolicyConfig TestConfig(std::string database_url) {
  auto loaded = PolicyConfigSchema().Load(
      {.args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"},
       .env = {{"P402_POLICY_BOOTSTRAP_API_KEY", kKey},
               {"P402_POLICY_DATABASE_URL", std::move(database_url)}}});
  REQUIRE(loaded.ok());
  return loaded->config;
}

v1::AuthorizeRequest Authorize(std::string key, int64_t worst_case) {
  v1::AuthorizeRequest req;
  req.mutable_meta()->set_request_id("req_test");
  req.mutable_credential()->set_api_key(std::move(key));
  req.set_worst_case_micro_usd(worst_case);
  req.set_max_output_tokens(100);
  return req;
}

void ExerciseServer(PolicyServer& server) {
  auto channel = rpc::MakeChannel("127.0.0.1:" + std::to_string(server.ports().at("grpc_port")));
  auto stub = v1::Policy::NewStub(channel);

  // The bootstrap key authenticates as the demo tenant and gets a reservation.
  v1::AuthorizeResponse allowed;
  {
    grpc::ClientContext ctx;
    REQUIRE(stub->Authorize(&ctx, Authorize(kKey, 1234), &allowed).ok());
  }
  CHECK(allowed.decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(allowed.tenant_id() == "demo");
  CHECK(allowed.reservation().amount_micro_usd() == 1234);
  REQUIRE_FALSE(allowed.reservation().id().empty());

  // A wrong key is an answer (deny), not an RPC error.
  {
    grpc::ClientContext ctx;
    v1::AuthorizeResponse denied;
    REQUIRE(stub->Authorize(&ctx, Authorize("sk-wrong", 1), &denied).ok());
    CHECK(denied.decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    CHECK(denied.reason() == "invalid_api_key");
  }
  // Above the $50 default cap.
  {
    grpc::ClientContext ctx;
    v1::AuthorizeResponse capped;
    REQUIRE(stub->Authorize(&ctx, Authorize(kKey, 50'000'001), &capped).ok());
    CHECK(capped.decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  }
  // Malformed input is INVALID_ARGUMENT with a message.
  {
    grpc::ClientContext ctx;
    v1::AuthorizeResponse resp;
    grpc::Status s = stub->Authorize(&ctx, Authorize(kKey, -5), &resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(s.error_message().empty());
  }
  // Commit is idempotent.
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::CommitRequest commit;
    commit.set_reservation_id(allowed.reservation().id());
    commit.set_actual_micro_usd(1000);
    v1::CommitResponse resp;
    REQUIRE(stub->Commit(&ctx, commit, &resp).ok());
    CHECK(resp.charged_micro_usd() == 1000);
    CHECK(resp.already_committed() == (i == 1));
  }
  // Unknown reservation: NOT_FOUND.
  {
    grpc::ClientContext ctx;
    v1::ReleaseRequest release;
    release.set_reservation_id("res_does_not_exist");
    v1::ReleaseResponse resp;
    CHECK(stub->Release(&ctx, release, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  // Decisions are counted in /metrics on the admin port.
  auto client = http::HttpClient::Create();
  REQUIRE(client.ok());
  http::ClientRequest get;
  get.method = "GET";
  get.url = "http://127.0.0.1:" + std::to_string(server.ports().at("admin_port")) + "/metrics";
  auto metrics = (*client)->FetchBlocking(get);
  REQUIRE(metrics.ok());
  CHECK(metrics::FindSample(metrics->body,
                            R"(p402_policy_decisions_total{decision="GUARD_DECISION_ALLOW"})")
            .value_or(0) >= 1);
}

TEST_CASE("policy server over gRPC with the in-memory store", "[service]") {
  auto server = PolicyServer::Start(TestConfig(""));
  REQUIRE(server.ok());
  ExerciseServer(**server);
  (*server)->Shutdown();
}

TEST_CASE("policy server over gRPC with PostgreSQL, twice on one database", "[service]") {
  std::string dsn = testing::RequirePostgresDsn();
  // Two processes' worth of servers on one database: migrations and bootstrap are idempotent.
  auto first = PolicyServer::Start(TestConfig(dsn));
  REQUIRE(first.ok());
  auto second = PolicyServer::Start(TestConfig(dsn));
  REQUIRE(second.ok());
  ExerciseServer(**second);
  (*first)->Shutdown();
  (*second)->Shutdown();
}

TEST_CASE("policy server refuses an unreachable database with a clear error", "[service]") {
  auto server = PolicyServer::Start(TestConfig("postgresql://postgres@127.0.0.1:1/none"));
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace p402::policy
