// The guard with agent sessions: session-token authentication, p402.session_id with a tenant key,
// dead sessions, the session's atomic budget, per-provider budgets and provider lists, approvals
// (hold -> decide -> re-authorize), and CheckReservation. Over InMemoryPolicyStore,
// InMemoryCounterStore and a FakeClock (GuardFixture).
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/core/guard.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::AuthRequest;
using testing::CommitReq;
using testing::GuardFixture;
using testing::kUsd;

constexpr int64_t kHourMs = 3'600'000;

struct Session {
  std::string id;
  std::string token;
};

v1::CreateSessionRequest SessionReq(const std::string& tenant, MicroUsd budget) {
  v1::CreateSessionRequest req;
  req.set_tenant_id(tenant);
  req.set_agent_id("agent-1");
  req.set_budget_micro_usd(budget);
  req.set_duration_ms(kHourMs);
  return req;
}

Session CreateSession(GuardFixture& f, const v1::CreateSessionRequest& req) {
  auto created = f.session_admin().CreateSession(req);
  REQUIRE_THAT(created.status(), IsOk());
  return {created->session().id(), created->token()};
}

SessionRecord Stored(GuardFixture& f, const std::string& session_id) {
  auto s = f.store().inner().GetSession("", session_id);
  REQUIRE_THAT(s.status(), IsOk());
  return *s;
}

// A request spending from `session_id` with the tenant key.
v1::AuthorizeRequest KeyWithSession(const std::string& key, MicroUsd worst_case,
                                    const std::string& session_id) {
  v1::AuthorizeRequest req = AuthRequest(key, worst_case);
  req.set_session_id(session_id);
  return req;
}

v1::CheckReservationResponse Check(GuardFixture& f, const std::string& reservation_id) {
  v1::CheckReservationRequest req;
  req.set_reservation_id(reservation_id);
  auto r = f.guard().CheckReservation(req);
  REQUIRE_THAT(r.status(), IsOk());
  return *r;
}

TEST_CASE("A session token authenticates and spends from its session", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  const Session s = CreateSession(f, SessionReq("acme", 10 * kUsd));

  auto r = f.guard().Authorize(AuthRequest(s.token, 2 * kUsd));  // the token as the API key
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(r->tenant_id() == "acme");
  CHECK(r->api_key_id().empty());
  CHECK(r->session_id() == s.id);
  CHECK(r->session_expires_unix_ms() == f.clock().NowMillis() + kHourMs);
  CHECK(Stored(f, s.id).reserved_micro_usd == 2 * kUsd);
  CHECK(f.Reserved("acme") == 2 * kUsd);  // the tenant's budget is held too

  // The session_token field works the same, also naming its own session.
  v1::AuthorizeRequest by_field = AuthRequest("", kUsd);
  by_field.mutable_credential()->set_session_token(s.token);
  by_field.set_session_id(s.id);
  CHECK(f.guard().Authorize(by_field)->decision() == v1::GUARD_DECISION_ALLOW);

  REQUIRE_THAT(f.guard().Commit(CommitReq(r->reservation().id(), kUsd)).status(), IsOk());
  const SessionRecord after = Stored(f, s.id);
  CHECK(after.spent_micro_usd == kUsd);
  CHECK(after.reserved_micro_usd == kUsd);
}

TEST_CASE("A tenant key spends from a session named by p402.session_id", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  f.Key(f.Tenant("other"));
  const Session s = CreateSession(f, SessionReq("acme", 10 * kUsd));
  const Session foreign = CreateSession(f, SessionReq("other", 10 * kUsd));

  auto r = f.guard().Authorize(KeyWithSession(key, 3 * kUsd, s.id));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(r->session_id() == s.id);
  CHECK_FALSE(r->api_key_id().empty());
  CHECK(Stored(f, s.id).reserved_micro_usd == 3 * kUsd);

  for (const std::string& id : {std::string("sess_missing"), foreign.id}) {
    auto missing = f.guard().Authorize(KeyWithSession(key, kUsd, id));
    REQUIRE_THAT(missing.status(), IsOk());
    CHECK(missing->decision() == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(missing->reason() == "session_not_found");
  }
  CHECK(Stored(f, foreign.id).reserved_micro_usd == 0);
}

TEST_CASE("A session token naming another session is refused", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  const Session a = CreateSession(f, SessionReq("acme", 10 * kUsd));
  const Session b = CreateSession(f, SessionReq("acme", 10 * kUsd));
  auto r = f.guard().Authorize(KeyWithSession(a.token, kUsd, b.id));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(r->reason() == "session_mismatch");
  CHECK(r->tenant_id() == "acme");
  CHECK(Stored(f, a.id).reserved_micro_usd == 0);
  CHECK(Stored(f, b.id).reserved_micro_usd == 0);
}

TEST_CASE("Revoked, expired and exhausted sessions are refused with their codes",
          "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();

  SECTION("revoked") {
    const Session s = CreateSession(f, SessionReq("acme", 10 * kUsd));
    v1::RevokeSessionRequest revoke;
    revoke.set_tenant_id("acme");
    revoke.set_session_id(s.id);
    REQUIRE_THAT(f.session_admin().RevokeSession(revoke).status(), IsOk());
    auto by_token = f.guard().Authorize(AuthRequest(s.token, kUsd));
    CHECK(by_token->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    CHECK(by_token->reason() == "session_revoked");
    auto by_key = f.guard().Authorize(KeyWithSession(key, kUsd, s.id));
    CHECK(by_key->decision() == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(by_key->reason() == "session_revoked");
  }
  SECTION("expired") {
    const Session s = CreateSession(f, SessionReq("acme", 10 * kUsd));
    f.clock().Advance(std::chrono::milliseconds(kHourMs));
    auto by_token = f.guard().Authorize(AuthRequest(s.token, kUsd));
    CHECK(by_token->decision() == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    CHECK(by_token->reason() == "session_expired");
    auto by_key = f.guard().Authorize(KeyWithSession(key, kUsd, s.id));
    CHECK(by_key->decision() == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(by_key->reason() == "session_expired");
  }
  SECTION("exhausted") {
    const Session s = CreateSession(f, SessionReq("acme", kUsd));
    auto r = f.guard().Authorize(AuthRequest(s.token, kUsd));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    REQUIRE_THAT(f.guard().Commit(CommitReq(r->reservation().id(), kUsd)).status(), IsOk());
    auto spent = f.guard().Authorize(AuthRequest(s.token, 1));
    CHECK(spent->decision() == v1::GUARD_DECISION_DENY_BUDGET);
    CHECK(spent->reason() == "session_budget_exhausted");
    CHECK(spent->layers(0).layer() == "policy");
    CHECK_FALSE(spent->layers(0).passed());
  }
}

TEST_CASE("A session's budget admits exactly what it covers, also concurrently", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  const Session s = CreateSession(f, SessionReq("acme", 3 * kUsd));

  std::vector<std::string> held;
  for (int i = 0; i < 3; ++i) {
    auto r = f.guard().Authorize(i % 2 == 0 ? AuthRequest(s.token, kUsd)
                                            : KeyWithSession(key, kUsd, s.id));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    held.push_back(r->reservation().id());
  }
  auto fourth = f.guard().Authorize(AuthRequest(s.token, kUsd));
  CHECK(fourth->decision() == v1::GUARD_DECISION_DENY_BUDGET);
  CHECK(fourth->reason() == "session_budget_exhausted");
  CHECK(Stored(f, s.id).reserved_micro_usd == 3 * kUsd);

  // Committing $0.40 of a $1 hold frees $0.60: exactly that fits, a micro-dollar more does not.
  REQUIRE_THAT(f.guard().Commit(CommitReq(held[0], kUsd * 2 / 5)).status(), IsOk());
  CHECK(f.guard().Authorize(AuthRequest(s.token, kUsd * 3 / 5 + 1))->reason() ==
        "session_budget_exhausted");
  CHECK(f.guard().Authorize(AuthRequest(s.token, kUsd * 3 / 5))->decision() ==
        v1::GUARD_DECISION_ALLOW);
  const SessionRecord after = Stored(f, s.id);
  CHECK(after.spent_micro_usd + after.reserved_micro_usd == after.budget_micro_usd);
}

TEST_CASE("A session's provider budgets and lists restrict routing", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  v1::CreateSessionRequest req = SessionReq("acme", 10 * kUsd);
  req.add_allowed_providers("openai");
  req.add_allowed_providers("anthropic");
  (*req.mutable_provider_budgets_micro_usd())["openai"] = kUsd;
  const Session s = CreateSession(f, req);

  auto first = f.guard().Authorize(AuthRequest(s.token, kUsd));
  REQUIRE(first->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(first->routing().allowed_providers_size() == 2);
  CHECK(first->routing().denied_providers_size() == 0);
  v1::CommitRequest commit = CommitReq(first->reservation().id(), kUsd);
  commit.mutable_model()->set_provider("openai");
  REQUIRE_THAT(f.guard().Commit(commit).status(), IsOk());
  CHECK(Stored(f, s.id).provider_spent_micro_usd.at("openai") == kUsd);

  // openai's sub-budget is spent: routed requests avoid it, explicit ones are refused.
  auto routed = f.guard().Authorize(AuthRequest(s.token, kUsd));
  REQUIRE(routed->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(std::vector<std::string>(routed->routing().denied_providers().begin(),
                                 routed->routing().denied_providers().end()) ==
        std::vector<std::string>{"openai"});
  v1::AuthorizeRequest explicit_openai = AuthRequest(s.token, kUsd);
  explicit_openai.mutable_model()->set_provider("openai");
  explicit_openai.mutable_model()->set_model("gpt-4o-mini");
  auto refused = f.guard().Authorize(explicit_openai);
  CHECK(refused->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(refused->reason() == "provider_not_allowed");

  // A tenant allow list intersects with the session's; nothing in common is a denial.
  v1::CreatePolicyRequest policy;
  policy.set_tenant_id("acme");
  policy.mutable_policy()->set_name("providers");
  policy.mutable_policy()->set_enabled(true);
  policy.mutable_policy()->mutable_provider()->add_allow("anthropic");
  policy.mutable_policy()->mutable_provider()->add_allow("groq");
  auto created = f.policy_admin().CreatePolicy(policy);
  REQUIRE_THAT(created.status(), IsOk());
  auto both = f.guard().Authorize(AuthRequest(s.token, kUsd));
  REQUIRE(both->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(std::vector<std::string>(both->routing().allowed_providers().begin(),
                                 both->routing().allowed_providers().end()) ==
        std::vector<std::string>{"anthropic"});
  v1::UpdatePolicyRequest update;
  update.set_tenant_id("acme");
  *update.mutable_policy() = created->policy();
  update.mutable_policy()->mutable_provider()->clear_allow();
  update.mutable_policy()->mutable_provider()->add_allow("groq");
  REQUIRE_THAT(f.policy_admin().UpdatePolicy(update).status(), IsOk());
  auto none = f.guard().Authorize(AuthRequest(s.token, kUsd));
  CHECK(none->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(none->reason() == "provider_denied");
}

TEST_CASE("Requests above the approval threshold are held, then admitted once when approved",
          "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  v1::CreateSessionRequest req = SessionReq("acme", 100 * kUsd);
  req.set_require_approval_above_micro_usd(2 * kUsd);
  const Session s = CreateSession(f, req);

  // Below the threshold: no approval needed.
  CHECK(f.guard().Authorize(AuthRequest(s.token, 2 * kUsd))->decision() ==
        v1::GUARD_DECISION_ALLOW);
  const MicroUsd reserved_before = Stored(f, s.id).reserved_micro_usd;

  auto held = f.guard().Authorize(AuthRequest(s.token, 3 * kUsd));
  REQUIRE_THAT(held.status(), IsOk());
  CHECK(held->decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
  CHECK(held->reason() == "approval_required");
  const v1::Approval& approval = held->approval();
  CHECK(approval.id().rfind("apr_", 0) == 0);
  CHECK(approval.status() == v1::APPROVAL_STATUS_PENDING);
  CHECK(approval.session_id() == s.id);
  CHECK(approval.amount_micro_usd() == 3 * kUsd);
  CHECK(approval.expires_unix_ms() == f.clock().NowMillis() + 2 * 60 * 1000);
  CHECK(f.alerts().Count("approval_requested") == 1);
  CHECK(Stored(f, s.id).reserved_micro_usd == reserved_before);  // nothing held

  // Asking again while pending: held again, same approval, no new one.
  v1::AuthorizeRequest again = AuthRequest(s.token, 3 * kUsd);
  again.set_approval_id(approval.id());
  auto pending = f.guard().Authorize(again);
  CHECK(pending->decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
  CHECK(pending->approval().id() == approval.id());
  CHECK(f.alerts().Count("approval_requested") == 1);

  v1::DecideApprovalRequest decide;
  decide.set_tenant_id("acme");
  decide.set_approval_id(approval.id());
  decide.set_approve(true);
  REQUIRE_THAT(f.session_admin().DecideApproval(decide).status(), IsOk());

  // The approval does not cover a bigger request, nor a request of another session.
  v1::AuthorizeRequest bigger = again;
  bigger.set_worst_case_micro_usd(4 * kUsd);
  CHECK(f.guard().Authorize(bigger)->reason() == "approval_mismatch");
  const Session other = CreateSession(f, req);
  v1::AuthorizeRequest elsewhere = AuthRequest(other.token, 3 * kUsd);
  elsewhere.set_approval_id(approval.id());
  CHECK(f.guard().Authorize(elsewhere)->reason() == "approval_mismatch");

  auto admitted = f.guard().Authorize(again);
  REQUIRE_THAT(admitted.status(), IsOk());
  CHECK(admitted->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(admitted->layers(0).code() == "approved");
  CHECK(f.store().inner().GetApproval("acme", approval.id(), f.clock().NowMillis())->state ==
        ApprovalState::kUsed);
  auto replay = f.guard().Authorize(again);
  CHECK(replay->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(replay->reason() == "approval_used");

  // A tenant key naming the session is held the same way.
  auto by_key = f.guard().Authorize(KeyWithSession(key, 5 * kUsd, s.id));
  CHECK(by_key->decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
}

TEST_CASE("Denied and timed-out approvals refuse the request", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  v1::CreateSessionRequest req = SessionReq("acme", 100 * kUsd);
  req.set_require_approval_above_micro_usd(kUsd);
  const Session s = CreateSession(f, req);
  auto hold = [&]() {
    auto r = f.guard().Authorize(AuthRequest(s.token, 2 * kUsd));
    REQUIRE(r->decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
    v1::AuthorizeRequest retry = AuthRequest(s.token, 2 * kUsd);
    retry.set_approval_id(r->approval().id());
    return retry;
  };

  v1::AuthorizeRequest denied = hold();
  v1::DecideApprovalRequest decide;
  decide.set_tenant_id("acme");
  decide.set_approval_id(denied.approval_id());
  decide.set_approve(false);
  decide.set_reason("too expensive");
  REQUIRE_THAT(f.session_admin().DecideApproval(decide).status(), IsOk());
  auto r = f.guard().Authorize(denied);
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(r->reason() == "approval_denied");
  CHECK_THAT(r->message(), Catch::Contains("too expensive"));

  v1::AuthorizeRequest timed_out = hold();
  f.clock().Advance(std::chrono::minutes(2) + std::chrono::milliseconds(1));
  auto t = f.guard().Authorize(timed_out);
  CHECK(t->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(t->reason() == "approval_timeout");

  v1::AuthorizeRequest unknown = AuthRequest(s.token, 2 * kUsd);
  unknown.set_approval_id("apr_0000000000000000");
  CHECK(f.guard().Authorize(unknown)->reason() == "approval_mismatch");
  CHECK(Stored(f, s.id).reserved_micro_usd == 0);
}

TEST_CASE("An approval is not used up by a request a later layer refuses", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.TenantWithBudget("acme", 7 * kUsd / 2)).secret();  // $3.50
  v1::CreateSessionRequest req = SessionReq("acme", 100 * kUsd);
  req.set_require_approval_above_micro_usd(2 * kUsd);
  const Session s = CreateSession(f, req);
  auto held = f.guard().Authorize(AuthRequest(s.token, 3 * kUsd));
  REQUIRE(held->decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
  v1::DecideApprovalRequest decide;
  decide.set_tenant_id("acme");
  decide.set_approval_id(held->approval().id());
  decide.set_approve(true);
  REQUIRE_THAT(f.session_admin().DecideApproval(decide).status(), IsOk());

  // Meanwhile another request takes $1 of the tenant's $3.50.
  auto other = f.guard().Authorize(AuthRequest(key, kUsd));
  REQUIRE(other->decision() == v1::GUARD_DECISION_ALLOW);
  v1::AuthorizeRequest retry = AuthRequest(s.token, 3 * kUsd);
  retry.set_approval_id(held->approval().id());
  CHECK(f.guard().Authorize(retry)->reason() == "budget_exhausted");
  CHECK(f.store().inner().GetApproval("acme", held->approval().id(), 0)->state ==
        ApprovalState::kApproved);

  v1::ReleaseRequest release;
  release.set_reservation_id(other->reservation().id());
  REQUIRE_THAT(f.guard().Release(release).status(), IsOk());
  CHECK(f.guard().Authorize(retry)->decision() == v1::GUARD_DECISION_ALLOW);
}

TEST_CASE("CheckReservation stops streams of revoked or expired sessions and paused tenants",
          "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  const Session s = CreateSession(f, SessionReq("acme", 10 * kUsd));
  auto admit = [&](v1::AuthorizeRequest req) {
    auto r = f.guard().Authorize(req);
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    return r->reservation().id();
  };

  SECTION("revoked session") {
    const std::string id = admit(AuthRequest(s.token, kUsd));
    CHECK(Check(f, id).active());
    v1::RevokeSessionRequest revoke;
    revoke.set_tenant_id("acme");
    revoke.set_session_id(s.id);
    REQUIRE_THAT(f.session_admin().RevokeSession(revoke).status(), IsOk());
    CHECK_FALSE(Check(f, id).active());
    CHECK(Check(f, id).reason() == "session_revoked");
  }
  SECTION("expired session") {
    const std::string id = admit(KeyWithSession(key, kUsd, s.id));
    f.clock().Advance(std::chrono::milliseconds(kHourMs - 1));
    CHECK(Check(f, id).active());
    f.clock().Advance(std::chrono::milliseconds(1));
    CHECK(Check(f, id).reason() == "session_expired");
  }
  SECTION("paused tenant, then finalized") {
    const std::string id = admit(AuthRequest(key, kUsd));
    REQUIRE_THAT(f.store().SetTenantPaused("acme", true, "ops").status(), IsOk());
    CHECK(Check(f, id).reason() == "tenant_paused");
    REQUIRE_THAT(f.store().SetTenantPaused("acme", false, "").status(), IsOk());
    CHECK(Check(f, id).active());
    REQUIRE_THAT(f.guard().Commit(CommitReq(id, kUsd)).status(), IsOk());
    CHECK_FALSE(Check(f, id).active());
    CHECK(Check(f, id).reason() == "reservation_finalized");
  }
  SECTION("bad and unknown ids") {
    v1::CheckReservationRequest req;
    req.set_reservation_id("rsv_unknown");
    CHECK_THAT(f.guard().CheckReservation(req).status(), StatusIs(absl::StatusCode::kNotFound));
    req.set_reservation_id("");
    CHECK_THAT(f.guard().CheckReservation(req).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "reservation_id"));
  }
}

}  // namespace
}  // namespace p402::policy
