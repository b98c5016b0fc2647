#include "services/policy/core/guard.h"

#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::AuthRequest;
using testing::GuardFixture;
using testing::kUsd;

// "layer:passed:code" per evaluated layer, for compact assertions on AuthorizeResponse.layers.
std::vector<std::string> Layers(const v1::AuthorizeResponse& r) {
  std::vector<std::string> out;
  for (const auto& l : r.layers()) {
    out.push_back(l.layer() + ":" + (l.passed() ? "pass" : "deny") + ":" + l.code() +
                  (l.failed_open() ? ":failed_open" : ""));
  }
  return out;
}

// The entries of a request that passed the policy step and layers 1-4 without a flag, then `tail`.
std::vector<std::string> AfterFront(std::vector<std::string> tail) {
  std::vector<std::string> out = {"policy:pass:", "rate_limit:pass:", "daily_limit:pass:",
                                  "concurrency:pass:", "anomaly:pass:"};
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

TEST_CASE("Authorize admits a valid key and reserves the worst case", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");
  const auto key = f.Key(tenant);

  auto r = f.guard().Authorize(AuthRequest(key.secret(), 3 * kUsd));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(r->reason().empty());
  CHECK(r->tenant_id() == "acme");
  CHECK(r->api_key_id() == key.key().id());
  CHECK(r->reservation().id().rfind("rsv_", 0) == 0);
  CHECK(r->reservation().amount_micro_usd() == 3 * kUsd);
  CHECK(r->reservation().expires_unix_ms() == f.clock().NowMillis() + 5 * 60 * 1000);
  CHECK(r->reduced_max_tokens() == 0);
  CHECK(Layers(*r) == AfterFront({"request_cap:pass:", "reservation:pass:"}));
  CHECK(f.Reserved(tenant) == 3 * kUsd);

  auto stored = f.store().inner().GetReservation(r->reservation().id());
  REQUIRE_THAT(stored.status(), IsOk());
  CHECK(stored->tenant_id == "acme");
  CHECK(stored->status == ReservationStatus::kReserved);
}

TEST_CASE("Authorize denies a missing credential", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");
  f.Key(tenant);

  v1::AuthorizeRequest none;
  none.set_worst_case_micro_usd(kUsd);
  auto r = f.guard().Authorize(none);
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
  CHECK(r->reason() == "missing_api_key");
  CHECK(r->tenant_id().empty());

  auto empty = f.guard().Authorize(AuthRequest("", kUsd));
  REQUIRE_THAT(empty.status(), IsOk());
  CHECK(empty->reason() == "missing_api_key");
  CHECK(f.Reserved(tenant) == 0);
}

TEST_CASE("Authorize denies unknown, overlong and revoked keys", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");
  const auto key = f.Key(tenant);

  auto unknown = f.guard().Authorize(AuthRequest("sk-p402-notarealkey", kUsd));
  REQUIRE_THAT(unknown.status(), IsOk());
  CHECK(unknown->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
  CHECK(unknown->reason() == "invalid_api_key");
  CHECK(unknown->tenant_id().empty());

  // A key that differs from a real one in its last character is just as unknown.
  std::string near = key.secret();
  near.back() = near.back() == 'a' ? 'b' : 'a';
  CHECK(f.guard().Authorize(AuthRequest(near, kUsd))->reason() == "invalid_api_key");

  auto overlong = f.guard().Authorize(AuthRequest(std::string(10'000, 'k'), kUsd));
  REQUIRE_THAT(overlong.status(), IsOk());
  CHECK(overlong->reason() == "invalid_api_key");

  REQUIRE(f.guard().Authorize(AuthRequest(key.secret(), kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(key.key().id());
  REQUIRE_THAT(f.admin().RevokeApiKey(revoke).status(), IsOk());
  auto revoked = f.guard().Authorize(AuthRequest(key.secret(), kUsd));
  REQUIRE_THAT(revoked.status(), IsOk());
  CHECK(revoked->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
  CHECK(revoked->reason() == "revoked_api_key");
  CHECK(f.Reserved(tenant) == kUsd);  // only the admitted request holds budget
}

TEST_CASE("Authorize refuses unknown session tokens and x402 payments", "[unit][policy]") {
  GuardFixture f;
  v1::AuthorizeRequest req;
  req.mutable_credential()->set_session_token("sk-p402-sess-unknown");
  auto r = f.guard().Authorize(req);
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
  CHECK(r->reason() == "invalid_session_token");
  CHECK(r->layers_size() == 0);

  // Passed as the API key (the OpenAI SDK's apiKey), the prefix makes it a session token too.
  req.mutable_credential()->set_api_key("sk-p402-sess-unknown");
  CHECK(f.guard().Authorize(req)->reason() == "invalid_session_token");

  // TODO(p402): x402 paid requests are their own issue.
  req.mutable_credential()->mutable_paid()->set_payer("0xabc");
  CHECK(f.guard().Authorize(req)->reason() == "unsupported_credential");
}

TEST_CASE("Authorize rejects malformed figures with InvalidArgument", "[unit][policy]") {
  GuardFixture f;
  const auto key = f.Key(f.Tenant("acme"));
  CHECK_THAT(f.guard().Authorize(AuthRequest(key.secret(), -1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "worst_case_micro_usd"));
  CHECK_THAT(f.guard().Authorize(AuthRequest(key.secret(), kUsd, -5)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "max_output_tokens"));
  CHECK_THAT(f.guard().Authorize(AuthRequest(key.secret(), kUsd, 10, -1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "output_per_mtok_micro_usd"));
  auto req = AuthRequest(key.secret(), kUsd);
  req.set_estimated_input_tokens(-1);
  CHECK_THAT(f.guard().Authorize(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "estimated_input_tokens"));
  req = AuthRequest(key.secret(), kUsd);
  req.set_capability("images");
  CHECK_THAT(f.guard().Authorize(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "capability"));
  req = AuthRequest(key.secret(), kUsd);
  req.set_session_id("sess bad");
  CHECK_THAT(f.guard().Authorize(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "session_id"));
  req = AuthRequest(key.secret(), kUsd);
  req.set_approval_id("apr/1");
  CHECK_THAT(f.guard().Authorize(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "approval_id"));
  CHECK(f.Reserved("acme") == 0);
}

TEST_CASE("The per-request cap denies an over-cap request", "[unit][policy]") {
  GuardFixture f;  // default cap: $50
  const std::string tenant = f.Tenant("acme");
  const auto key = f.Key(tenant);

  auto at_cap = f.guard().Authorize(AuthRequest(key.secret(), 50 * kUsd));
  REQUIRE_THAT(at_cap.status(), IsOk());
  CHECK(at_cap->decision() == v1::GUARD_DECISION_ALLOW);

  auto over = f.guard().Authorize(AuthRequest(key.secret(), 50 * kUsd + 1));
  REQUIRE_THAT(over.status(), IsOk());
  CHECK(over->decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  CHECK(over->reason() == "request_cap_exceeded");
  CHECK(over->message().find("$50.000000") != std::string::npos);
  CHECK(over->tenant_id() == "acme");
  CHECK(Layers(*over) == AfterFront({"request_cap:deny:request_cap_exceeded"}));
  CHECK(f.Reserved(tenant) == 50 * kUsd);  // the denied request reserved nothing

  SECTION("a tenant's own cap replaces the default") {
    v1::TenantLimits limits;
    limits.set_per_request_cap_micro_usd(kUsd);
    const auto small = f.Key(f.Tenant("small", limits));
    CHECK(f.guard().Authorize(AuthRequest(small.secret(), 2 * kUsd))->decision() ==
          v1::GUARD_DECISION_DENY_REQUEST_CAP);
  }
  SECTION("without a known output price the cap cannot be met by lowering max_tokens") {
    auto r = f.guard().Authorize(AuthRequest(key.secret(), 60 * kUsd, 1000, 0, true));
    CHECK(r->decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  }
}

TEST_CASE("The per-request cap lowers max_tokens when allowed", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");
  const auto key = f.Key(tenant);
  // Output at $10 per 1M tokens, 10M tokens => $100 output + $1 input = $101 worst case.
  constexpr MicroUsd kPrice = 10 * kUsd;
  auto r = f.guard().Authorize(AuthRequest(key.secret(), 101 * kUsd, 10'000'000, kPrice, true));
  REQUIRE_THAT(r.status(), IsOk());
  REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
  // $49 of output allowance at $10/M = 4.9M tokens; $1 + $49 = the $50 cap exactly.
  CHECK(r->reduced_max_tokens() == 4'900'000);
  CHECK(r->reservation().amount_micro_usd() == 50 * kUsd);
  CHECK(Layers(*r) == AfterFront({"request_cap:pass:max_tokens_reduced", "reservation:pass:"}));

  SECTION("not when the caller forbids it") {
    auto denied = f.guard().Authorize(AuthRequest(key.secret(), 101 * kUsd, 10'000'000, kPrice));
    CHECK(denied->decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  }
  SECTION("not when the input alone exceeds the cap") {
    // $100 output + $60 input: no output limit brings it under $50.
    auto denied =
        f.guard().Authorize(AuthRequest(key.secret(), 160 * kUsd, 10'000'000, kPrice, true));
    CHECK(denied->decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  }
}

TEST_CASE("The reservation denies when the budget is exhausted", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.TenantWithBudget("acme", 10 * kUsd);
  const auto key = f.Key(tenant);
  REQUIRE(f.guard().Authorize(AuthRequest(key.secret(), 4 * kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  REQUIRE(f.guard().Authorize(AuthRequest(key.secret(), 4 * kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  auto third = f.guard().Authorize(AuthRequest(key.secret(), 4 * kUsd));
  REQUIRE_THAT(third.status(), IsOk());
  CHECK(third->decision() == v1::GUARD_DECISION_DENY_BUDGET);
  CHECK(third->reason() == "budget_exhausted");
  CHECK(third->message().find("$2.000000") != std::string::npos);
  CHECK_FALSE(third->has_reservation());
  CHECK(Layers(*third) == AfterFront({"request_cap:pass:", "reservation:deny:budget_exhausted"}));
  CHECK(f.Reserved(tenant) == 8 * kUsd);
  // What remains is still usable.
  CHECK(f.guard().Authorize(AuthRequest(key.secret(), 2 * kUsd))->decision() ==
        v1::GUARD_DECISION_ALLOW);
  CHECK(f.Reserved(tenant) == 10 * kUsd);
}

TEST_CASE("The reservation lowers max_tokens to fit the remaining budget", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.TenantWithBudget("acme", 10 * kUsd);
  const auto key = f.Key(tenant);
  REQUIRE(f.guard().Authorize(AuthRequest(key.secret(), 7 * kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  // $1 input + 400k tokens at $10/M ($4) = $5; $3 remain => 200k tokens.
  auto r = f.guard().Authorize(AuthRequest(key.secret(), 5 * kUsd, 400'000, 10 * kUsd, true));
  REQUIRE_THAT(r.status(), IsOk());
  REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(r->reduced_max_tokens() == 200'000);
  CHECK(r->reservation().amount_micro_usd() == 3 * kUsd);
  CHECK(Layers(*r) == AfterFront({"request_cap:pass:", "reservation:pass:max_tokens_reduced"}));
  CHECK(f.Reserved(tenant) == 10 * kUsd);

  // Nothing left: even the input cannot be covered.
  auto none = f.guard().Authorize(AuthRequest(key.secret(), 5 * kUsd, 400'000, 10 * kUsd, true));
  CHECK(none->decision() == v1::GUARD_DECISION_DENY_BUDGET);
}

TEST_CASE("A minimum output-token floor turns a tiny reduction into a denial", "[unit][policy]") {
  GuardConfig config;
  config.min_reduced_max_tokens = 300'000;
  GuardFixture f(config);
  const auto key = f.Key(f.TenantWithBudget("acme", 3 * kUsd));
  // $1 input + $4 output; $3 budget => 200k tokens, below the 300k floor.
  auto r = f.guard().Authorize(AuthRequest(key.secret(), 5 * kUsd, 400'000, 10 * kUsd, true));
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_BUDGET);
}

TEST_CASE("An unlimited budget still records a reservation to commit", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");  // budget 0 = unlimited
  const auto key = f.Key(tenant);
  for (int i = 0; i < 5; ++i) {
    auto r = f.guard().Authorize(AuthRequest(key.secret(), 40 * kUsd));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    auto c = f.guard().Commit(testing::CommitReq(r->reservation().id(), 30 * kUsd));
    REQUIRE_THAT(c.status(), IsOk());
  }
  CHECK(f.Spent(tenant) == 150 * kUsd);
  CHECK(f.Reserved(tenant) == 0);
}

}  // namespace
}  // namespace p402::policy
