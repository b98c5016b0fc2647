#include "services/policy/core/session_admin.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/core/session_rules.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using std::chrono::milliseconds;

constexpr MicroUsd kUsd = 1'000'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kNotFound = absl::StatusCode::kNotFound;
constexpr auto kFailedPrecondition = absl::StatusCode::kFailedPrecondition;

class SessionFixture {
 public:
  SessionFixture() : admin_(store_, clock_) {
    Tenant("acme");
    Tenant("globex");
  }

  void Tenant(const std::string& id) {
    TenantRecord t;
    t.id = id;
    t.name = id;
    REQUIRE_THAT(store_.CreateTenant(t), IsOk());
  }

  // Creates a session of `tenant` with `budget` for an hour; returns the whole response.
  v1::CreateSessionResponse Create(const std::string& tenant = "acme", MicroUsd budget = 10 * kUsd,
                                   const std::string& agent = "bot") {
    auto created = admin_.CreateSession(Request(tenant, budget, agent));
    REQUIRE_THAT(created.status(), IsOk());
    return *created;
  }

  static v1::CreateSessionRequest Request(const std::string& tenant = "acme",
                                          MicroUsd budget = 10 * kUsd,
                                          const std::string& agent = "bot") {
    v1::CreateSessionRequest req;
    req.set_tenant_id(tenant);
    req.set_agent_id(agent);
    req.set_budget_micro_usd(budget);
    req.set_duration_ms(kHourMs);
    return req;
  }

  v1::AgentSession Get(const std::string& id, const std::string& tenant = "acme") {
    v1::GetSessionRequest req;
    req.set_tenant_id(tenant);
    req.set_session_id(id);
    auto got = admin_.GetSession(req);
    REQUIRE_THAT(got.status(), IsOk());
    return got->session();
  }

  absl::StatusOr<v1::ListSessionsResponse> List(int page_size, const std::string& token = "",
                                                v1::SessionStatus status = {},
                                                const std::string& tenant = "acme") {
    v1::ListSessionsRequest req;
    req.set_tenant_id(tenant);
    req.set_page_size(page_size);
    req.set_page_token(token);
    req.set_status(status);
    return admin_.ListSessions(req);
  }

  // Follows next_page_token to the end; returns the ids in order and counts the calls.
  std::vector<std::string> ListAll(int page_size, v1::SessionStatus status, int* calls) {
    std::vector<std::string> ids;
    std::string token;
    *calls = 0;
    do {
      auto page = List(page_size, token, status);
      REQUIRE_THAT(page.status(), IsOk());
      REQUIRE(page->sessions_size() <= page_size);
      for (const auto& s : page->sessions()) {
        ids.push_back(s.id());
      }
      token = page->next_page_token();
      REQUIRE(++*calls < 50);
    } while (!token.empty());
    return ids;
  }

  absl::StatusOr<v1::UpdateSessionResponse> Update(const std::string& id,
                                                   const std::string& tenant = "acme",
                                                   MicroUsd top_up = 0, int64_t extend_ms = 0) {
    v1::UpdateSessionRequest req;
    req.set_tenant_id(tenant);
    req.set_session_id(id);
    req.set_top_up_micro_usd(top_up);
    req.set_extend_ms(extend_ms);
    return admin_.UpdateSession(req);
  }

  absl::StatusOr<v1::RevokeSessionResponse> Revoke(const std::string& id,
                                                   const std::string& tenant = "acme") {
    v1::RevokeSessionRequest req;
    req.set_tenant_id(tenant);
    req.set_session_id(id);
    return admin_.RevokeSession(req);
  }

  // Holds `amount` of the session's budget, as an admitted request would.
  void Reserve(const std::string& session_id, MicroUsd amount) {
    ReservationRecord draft;
    draft.id = "rsv_" + std::to_string(++reservations_);
    draft.tenant_id = "acme";
    draft.session_id = session_id;
    draft.amount_micro_usd = amount;
    draft.created_unix_ms = clock_.NowMillis();
    draft.expires_unix_ms = clock_.NowMillis() + kHourMs;
    auto outcome = store_.ReserveBudget(draft);
    REQUIRE_THAT(outcome.status(), IsOk());
    REQUIRE(outcome->granted);
  }

  InMemoryPolicyStore& store() { return store_; }
  testing::FakeClock& clock() { return clock_; }
  SessionAdmin& admin() { return admin_; }

 private:
  InMemoryPolicyStore store_;
  testing::FakeClock clock_;
  SessionAdmin admin_;
  int reservations_ = 0;
};

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Create / get.

TEST_CASE("CreateSession returns the token once and stores only its hash", "[unit][sessions]") {
  SessionFixture f;
  v1::CreateSessionResponse created = f.Create();
  const std::string& token = created.token();
  const v1::AgentSession& s = created.session();

  CHECK(token.rfind(kSessionTokenPrefix, 0) == 0);
  CHECK(token.size() ==
        kSessionTokenPrefix.size() + crypto::RandomTokenLength(kSessionTokenEntropyBytes));
  CHECK(s.id().rfind("sess_", 0) == 0);
  CHECK(s.id().size() == 5 + 16);
  CHECK(IsLowerHex(s.id().substr(5)));
  CHECK(s.token_prefix() == token.substr(0, kSessionTokenPrefixLength));
  CHECK(s.status() == v1::SESSION_STATUS_ACTIVE);
  CHECK(s.created_unix_ms() == f.clock().NowMillis());
  CHECK(s.expires_unix_ms() == f.clock().NowMillis() + kHourMs);

  // The store knows the session by the token's SHA-256 only.
  auto found = f.store().FindSessionByTokenHash(crypto::Sha256Hex(token));
  REQUIRE_THAT(found.status(), IsOk());
  REQUIRE(found->has_value());
  const SessionRecord& rec = **found;
  CHECK(rec.id == s.id());
  CHECK(rec.token_hash == crypto::Sha256Hex(token));
  CHECK(rec.token_prefix == s.token_prefix());
  const std::string secret_part = token.substr(kSessionTokenPrefixLength);
  for (const std::string& field :
       {rec.id, rec.tenant_id, rec.agent_id, rec.wallet, rec.token_hash, rec.token_prefix}) {
    CHECK(field.find(secret_part) == std::string::npos);
  }
  CHECK_FALSE(f.store().FindSessionByTokenHash(token)->has_value());  // not stored in clear

  // The wire form never carries the hash, and reading the session never shows the token again.
  const std::string wire = created.session().SerializeAsString();
  CHECK(wire.find(rec.token_hash) == std::string::npos);
  CHECK(wire.find(secret_part) == std::string::npos);
  const std::string read = f.Get(s.id()).SerializeAsString();
  CHECK(read.find(secret_part) == std::string::npos);
  CHECK(read.find(rec.token_hash) == std::string::npos);

  // Every session gets its own id and token.
  v1::CreateSessionResponse other = f.Create();
  CHECK(other.token() != token);
  CHECK(other.session().id() != s.id());
}

TEST_CASE("CreateSession stores every limit as given (wallet lowercased)", "[unit][sessions]") {
  SessionFixture f;
  auto req = SessionFixture::Request();
  req.set_wallet("0xABCDEF0123456789abcdef0123456789ABCDEF01");
  req.set_per_request_cap_micro_usd(kUsd);
  req.set_require_approval_above_micro_usd(2 * kUsd);
  (*req.mutable_provider_budgets_micro_usd())["openai"] = 5 * kUsd;
  req.add_allowed_providers("openai");
  req.add_allowed_providers("groq");
  req.add_allowed_capabilities("chat");
  req.mutable_allowed_hours()->set_start_hour(22);
  req.mutable_allowed_hours()->set_end_hour(6);
  req.set_duration_ms(2 * kHourMs);
  auto created = f.admin().CreateSession(req);
  REQUIRE_THAT(created.status(), IsOk());

  const v1::AgentSession s = f.Get(created->session().id());
  CHECK(s.tenant_id() == "acme");
  CHECK(s.agent_id() == "bot");
  CHECK(s.wallet() == "0xabcdef0123456789abcdef0123456789abcdef01");
  CHECK(s.budget_micro_usd() == 10 * kUsd);
  CHECK(s.spent_micro_usd() == 0);
  CHECK(s.reserved_micro_usd() == 0);
  CHECK(s.per_request_cap_micro_usd() == kUsd);
  CHECK(s.require_approval_above_micro_usd() == 2 * kUsd);
  REQUIRE(s.provider_budgets_micro_usd().size() == 1);
  CHECK(s.provider_budgets_micro_usd().at("openai") == 5 * kUsd);
  CHECK(std::vector<std::string>(s.allowed_providers().begin(), s.allowed_providers().end()) ==
        std::vector<std::string>{"openai", "groq"});
  REQUIRE(s.allowed_capabilities_size() == 1);
  CHECK(s.allowed_capabilities(0) == "chat");
  REQUIRE(s.has_allowed_hours());
  CHECK(s.allowed_hours().start_hour() == 22);
  CHECK(s.allowed_hours().end_hour() == 6);
  CHECK(s.allowed_hours().time_zone() == "UTC");  // "" is stored as the UTC it means
  CHECK(s.expires_unix_ms() == f.clock().NowMillis() + 2 * kHourMs);
  CHECK(s.revoked_unix_ms() == 0);

  // Without allowed hours the wire form has none (unset = any time).
  CHECK_FALSE(f.Get(f.Create().session().id()).has_allowed_hours());
}

TEST_CASE("CreateSession refuses bad input and unknown tenants", "[unit][sessions]") {
  SessionFixture f;
  auto unknown = f.admin().CreateSession(SessionFixture::Request("nope"));
  CHECK_THAT(unknown.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(unknown.status()) == "tenant_not_found");

  CHECK_THAT(f.admin().CreateSession(SessionFixture::Request("Bad Tenant")).status(),
             StatusIs(kInvalid, "tenant_id"));
  CHECK_THAT(f.admin().CreateSession(SessionFixture::Request("acme", 0)).status(),
             StatusIs(kInvalid, "budget_micro_usd must be > 0"));
  auto req = SessionFixture::Request();
  req.set_duration_ms(1000);
  CHECK_THAT(f.admin().CreateSession(req).status(), StatusIs(kInvalid, "duration_ms"));

  // Nothing was stored by the refused calls.
  auto listed = f.List(100);
  REQUIRE_THAT(listed.status(), IsOk());
  CHECK(listed->sessions_size() == 0);
}

TEST_CASE("GetSession: ownership and errors", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create().session().id();
  CHECK(f.Get(id).id() == id);

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"globex", id}, {"acme", "sess_0000000000000000"}, {"unknown", id}};
  for (const auto& [tenant, session] : refused) {
    v1::GetSessionRequest req;
    req.set_tenant_id(tenant);
    req.set_session_id(session);
    auto got = f.admin().GetSession(req);
    CHECK_THAT(got.status(), StatusIs(kNotFound));
    CHECK(ReasonOf(got.status()) == "session_not_found");
  }
  v1::GetSessionRequest bad;
  bad.set_tenant_id("acme");
  bad.set_session_id("sess/../x");
  CHECK_THAT(f.admin().GetSession(bad).status(), StatusIs(kInvalid, "session_id"));
  bad.set_session_id("");
  CHECK_THAT(f.admin().GetSession(bad).status(), StatusIs(kInvalid, "session_id is required"));
}

TEST_CASE("GetSession computes the status live", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create("acme", 10 * kUsd).session().id();
  f.Reserve(id, 4 * kUsd);
  v1::AgentSession s = f.Get(id);
  CHECK(s.status() == v1::SESSION_STATUS_ACTIVE);
  CHECK(s.reserved_micro_usd() == 4 * kUsd);

  f.Reserve(id, 6 * kUsd);
  CHECK(f.Get(id).status() == v1::SESSION_STATUS_EXHAUSTED);

  f.clock().Advance(milliseconds(kHourMs));
  CHECK(f.Get(id).status() == v1::SESSION_STATUS_EXPIRED);
}

// ---------------------------------------------------------------------------------------------
// List.

TEST_CASE("ListSessions pages newest first", "[unit][sessions]") {
  SessionFixture f;
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 5; ++i) {
    ids.push_back(f.Create().session().id());
    f.clock().Advance(milliseconds(1));
  }
  f.Create("globex");  // another tenant's session never shows up

  auto p1 = f.List(2);
  REQUIRE_THAT(p1.status(), IsOk());
  REQUIRE(p1->sessions_size() == 2);
  CHECK(p1->sessions(0).id() == ids[4]);
  CHECK(p1->sessions(1).id() == ids[3]);
  CHECK(p1->next_page_token() == ids[3]);
  auto p2 = f.List(2, p1->next_page_token());
  REQUIRE_THAT(p2.status(), IsOk());
  REQUIRE(p2->sessions_size() == 2);
  CHECK(p2->sessions(0).id() == ids[2]);
  CHECK(p2->sessions(1).id() == ids[1]);
  auto p3 = f.List(2, p2->next_page_token());
  REQUIRE_THAT(p3.status(), IsOk());
  REQUIRE(p3->sessions_size() == 1);
  CHECK(p3->sessions(0).id() == ids[0]);
  CHECK(p3->next_page_token().empty());

  // A page that holds exactly the rest says there is no more.
  auto exact = f.List(5);
  REQUIRE_THAT(exact.status(), IsOk());
  CHECK(exact->sessions_size() == 5);
  CHECK(exact->next_page_token().empty());

  // page_size 0 = 100.
  auto all = f.List(0);
  REQUIRE_THAT(all.status(), IsOk());
  CHECK(all->sessions_size() == 5);
  CHECK(all->next_page_token().empty());

  auto other = f.List(100, "", v1::SESSION_STATUS_UNSPECIFIED, "globex");
  REQUIRE_THAT(other.status(), IsOk());
  CHECK(other->sessions_size() == 1);
}

TEST_CASE("ListSessions filters by live status across store pages", "[unit][sessions]") {
  SessionFixture f;
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 7; ++i) {
    ids.push_back(f.Create().session().id());
    f.clock().Advance(milliseconds(1));
  }
  REQUIRE_THAT(f.Revoke(ids[1]).status(), IsOk());
  REQUIRE_THAT(f.Revoke(ids[5]).status(), IsOk());
  f.Reserve(ids[3], 10 * kUsd);  // exhausted

  int calls = 0;
  CHECK(f.ListAll(1, v1::SESSION_STATUS_REVOKED, &calls) ==
        std::vector<std::string>{ids[5], ids[1]});
  CHECK(f.ListAll(2, v1::SESSION_STATUS_ACTIVE, &calls) ==
        std::vector<std::string>{ids[6], ids[4], ids[2], ids[0]});
  CHECK(f.ListAll(500, v1::SESSION_STATUS_ACTIVE, &calls) ==
        std::vector<std::string>{ids[6], ids[4], ids[2], ids[0]});
  CHECK(calls == 1);
  CHECK(f.ListAll(3, v1::SESSION_STATUS_EXHAUSTED, &calls) == std::vector<std::string>{ids[3]});
  CHECK(f.ListAll(3, v1::SESSION_STATUS_EXPIRED, &calls).empty());
  CHECK(f.ListAll(3, v1::SESSION_STATUS_UNSPECIFIED, &calls).size() == 7);

  // A filtered page is filled from several store pages (here 2 rows each: 6,5 then 4,3); the
  // cursor is the last session returned.
  auto first = f.List(1, "", v1::SESSION_STATUS_EXHAUSTED);
  REQUIRE_THAT(first.status(), IsOk());
  REQUIRE(first->sessions_size() == 1);
  CHECK(first->sessions(0).id() == ids[3]);
  CHECK(first->next_page_token() == ids[3]);

  // Once the hour is over, all unrevoked sessions are expired.
  f.clock().Advance(milliseconds(kHourMs));
  CHECK(f.ListAll(2, v1::SESSION_STATUS_EXPIRED, &calls) ==
        std::vector<std::string>{ids[6], ids[4], ids[3], ids[2], ids[0]});
  CHECK(f.ListAll(2, v1::SESSION_STATUS_ACTIVE, &calls).empty());
}

TEST_CASE("ListSessions validates its request", "[unit][sessions]") {
  SessionFixture f;
  f.Create();
  CHECK_THAT(f.List(501).status(), StatusIs(kInvalid, "page_size"));
  CHECK_THAT(f.List(-1).status(), StatusIs(kInvalid, "page_size"));
  CHECK_THAT(f.List(500).status(), IsOk());
  CHECK_THAT(f.List(10, "", static_cast<v1::SessionStatus>(99)).status(),
             StatusIs(kInvalid, "status"));
  CHECK_THAT(f.List(10, "bad token!").status(), StatusIs(kInvalid, "page_token"));
  CHECK_THAT(f.List(10, "sess_0000000000000000").status(), StatusIs(kInvalid, "page_token"));
  CHECK_THAT(f.List(10, "", {}, "").status(), StatusIs(kInvalid, "tenant_id"));
}

// ---------------------------------------------------------------------------------------------
// Update / revoke.

TEST_CASE("UpdateSession: a top-up makes an exhausted session active", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create("acme", 2 * kUsd).session().id();
  f.Reserve(id, 2 * kUsd);
  REQUIRE(f.Get(id).status() == v1::SESSION_STATUS_EXHAUSTED);

  auto updated = f.Update(id, "acme", 3 * kUsd);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->session().budget_micro_usd() == 5 * kUsd);
  CHECK(updated->session().status() == v1::SESSION_STATUS_ACTIVE);
  CHECK(f.Get(id).budget_micro_usd() == 5 * kUsd);
}

TEST_CASE("UpdateSession: extend moves expiry from now and revives", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create().session().id();
  f.clock().Advance(milliseconds(2 * kHourMs));
  REQUIRE(f.Get(id).status() == v1::SESSION_STATUS_EXPIRED);

  auto updated = f.Update(id, "acme", 0, 30 * 60'000);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->session().expires_unix_ms() == f.clock().NowMillis() + 30 * 60'000);
  CHECK(updated->session().status() == v1::SESSION_STATUS_ACTIVE);
  CHECK(updated->session().budget_micro_usd() == 10 * kUsd);  // unchanged
}

TEST_CASE("UpdateSession: limits change only when set", "[unit][sessions]") {
  SessionFixture f;
  auto req = SessionFixture::Request();
  req.set_per_request_cap_micro_usd(kUsd);
  req.set_require_approval_above_micro_usd(2 * kUsd);
  auto created = f.admin().CreateSession(req);
  REQUIRE_THAT(created.status(), IsOk());
  const std::string id = created->session().id();
  const int64_t expires = created->session().expires_unix_ms();

  v1::UpdateSessionRequest up;
  up.set_tenant_id("acme");
  up.set_session_id(id);
  up.set_per_request_cap_micro_usd(0);  // explicitly "none"
  auto updated = f.admin().UpdateSession(up);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->session().per_request_cap_micro_usd() == 0);
  CHECK(updated->session().require_approval_above_micro_usd() == 2 * kUsd);
  CHECK(updated->session().expires_unix_ms() == expires);

  up.clear_per_request_cap_micro_usd();
  up.set_require_approval_above_micro_usd(7 * kUsd);
  updated = f.admin().UpdateSession(up);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->session().per_request_cap_micro_usd() == 0);
  CHECK(updated->session().require_approval_above_micro_usd() == 7 * kUsd);
}

TEST_CASE("UpdateSession: errors", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create().session().id();
  CHECK_THAT(f.Update(id, "acme", -1).status(), StatusIs(kInvalid, "top_up_micro_usd"));
  CHECK_THAT(f.Update(id, "acme", 0, 10).status(), StatusIs(kInvalid, "extend_ms"));

  auto cross = f.Update(id, "globex", kUsd);
  CHECK_THAT(cross.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(cross.status()) == "session_not_found");
  CHECK(f.Get(id).budget_micro_usd() == 10 * kUsd);  // untouched by the refused call

  auto unknown = f.Update("sess_ffffffffffffffff", "acme", kUsd);
  CHECK_THAT(unknown.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(unknown.status()) == "session_not_found");

  REQUIRE_THAT(f.Revoke(id).status(), IsOk());
  auto revoked = f.Update(id, "acme", kUsd, 60'000);
  CHECK_THAT(revoked.status(), StatusIs(kFailedPrecondition));
  CHECK(ReasonOf(revoked.status()) == "session_revoked");
  CHECK(f.Get(id).budget_micro_usd() == 10 * kUsd);
}

TEST_CASE("RevokeSession is final and idempotent", "[unit][sessions]") {
  SessionFixture f;
  const std::string id = f.Create().session().id();
  const int64_t revoked_at = f.clock().NowMillis();
  auto first = f.Revoke(id);
  REQUIRE_THAT(first.status(), IsOk());
  CHECK(first->session().status() == v1::SESSION_STATUS_REVOKED);
  CHECK(first->session().revoked_unix_ms() == revoked_at);

  f.clock().Advance(milliseconds(5000));
  auto again = f.Revoke(id);
  REQUIRE_THAT(again.status(), IsOk());
  CHECK(again->session().status() == v1::SESSION_STATUS_REVOKED);
  CHECK(again->session().revoked_unix_ms() == revoked_at);  // the first revocation stands

  // Revoked wins over expired in the reported status.
  f.clock().Advance(milliseconds(2 * kHourMs));
  CHECK(f.Get(id).status() == v1::SESSION_STATUS_REVOKED);

  auto cross = f.Revoke(f.Create("globex").session().id(), "acme");
  CHECK_THAT(cross.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(cross.status()) == "session_not_found");
}

// ---------------------------------------------------------------------------------------------
// Approvals (created by the guard when a request exceeds the threshold; here directly).

class ApprovalFixture : public SessionFixture {
 public:
  ApprovalFixture() {
    session_a_ = Create().session().id();
    session_b_ = Create().session().id();
  }

  std::string Approval(const std::string& session_id, MicroUsd amount,
                       const std::string& tenant = "acme") {
    ApprovalRecord a;
    a.id = "apr_" + std::to_string(++approvals_);
    a.tenant_id = tenant;
    a.session_id = session_id;
    a.request_id = "req-" + std::to_string(approvals_);
    a.amount_micro_usd = amount;
    a.model_provider = "openai";
    a.model_id = "gpt-4o";
    a.created_unix_ms = clock().NowMillis();
    a.expires_unix_ms = clock().NowMillis() + 60'000;
    REQUIRE_THAT(store().CreateApproval(a), IsOk());
    clock().Advance(milliseconds(1));
    return a.id;
  }

  absl::StatusOr<v1::DecideApprovalResponse> Decide(const std::string& id, bool approve,
                                                    const std::string& reason = "",
                                                    const std::string& tenant = "acme") {
    v1::DecideApprovalRequest req;
    req.set_tenant_id(tenant);
    req.set_approval_id(id);
    req.set_approve(approve);
    req.set_reason(reason);
    return admin().DecideApproval(req);
  }

  absl::StatusOr<v1::GetApprovalResponse> GetApproval(const std::string& id,
                                                      const std::string& tenant = "acme") {
    v1::GetApprovalRequest req;
    req.set_tenant_id(tenant);
    req.set_approval_id(id);
    return admin().GetApproval(req);
  }

  std::vector<std::string> ListIds(const std::string& session_id, bool pending_only) {
    v1::ListApprovalsRequest req;
    req.set_tenant_id("acme");
    req.set_session_id(session_id);
    req.set_pending_only(pending_only);
    auto listed = admin().ListApprovals(req);
    REQUIRE_THAT(listed.status(), IsOk());
    std::vector<std::string> ids;
    for (const auto& a : listed->approvals()) {
      ids.push_back(a.id());
    }
    return ids;
  }

  std::string session_a_, session_b_;

 private:
  int approvals_ = 0;
};

TEST_CASE("GetApproval returns the wire form; tenants are separate", "[unit][sessions]") {
  ApprovalFixture f;
  const int64_t created = f.clock().NowMillis();
  const std::string id = f.Approval(f.session_a_, 3 * kUsd);

  auto got = f.GetApproval(id);
  REQUIRE_THAT(got.status(), IsOk());
  const v1::Approval& a = got->approval();
  CHECK(a.id() == id);
  CHECK(a.tenant_id() == "acme");
  CHECK(a.session_id() == f.session_a_);
  CHECK(a.request_id() == "req-1");
  CHECK(a.amount_micro_usd() == 3 * kUsd);
  CHECK(a.model().provider() == "openai");
  CHECK(a.model().model() == "gpt-4o");
  CHECK(a.status() == v1::APPROVAL_STATUS_PENDING);
  CHECK(a.created_unix_ms() == created);
  CHECK(a.expires_unix_ms() == created + 60'000);
  CHECK(a.decided_unix_ms() == 0);

  CHECK_THAT(f.GetApproval(id, "").status(), IsOk());  // internal callers: any tenant
  auto cross = f.GetApproval(id, "globex");
  CHECK_THAT(cross.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(cross.status()) == "approval_not_found");
  auto unknown = f.GetApproval("apr_404");
  CHECK_THAT(unknown.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(unknown.status()) == "approval_not_found");
  CHECK_THAT(f.GetApproval("").status(), StatusIs(kInvalid, "approval_id"));
}

TEST_CASE("ListApprovals filters by session and pending state", "[unit][sessions]") {
  ApprovalFixture f;
  const std::string a1 = f.Approval(f.session_a_, kUsd);
  const std::string b1 = f.Approval(f.session_b_, kUsd);
  const std::string a2 = f.Approval(f.session_a_, kUsd);
  f.Approval(f.Create("globex").session().id(), kUsd, "globex");
  REQUIRE_THAT(f.Decide(a1, true).status(), IsOk());

  CHECK(f.ListIds("", false) == std::vector<std::string>{a2, b1, a1});
  CHECK(f.ListIds(f.session_a_, false) == std::vector<std::string>{a2, a1});
  CHECK(f.ListIds("", true) == std::vector<std::string>{a2, b1});
  CHECK(f.ListIds(f.session_a_, true) == std::vector<std::string>{a2});

  v1::ListApprovalsRequest bad;
  bad.set_tenant_id("acme");
  bad.set_session_id("no spaces");
  CHECK_THAT(f.admin().ListApprovals(bad).status(), StatusIs(kInvalid, "session_id"));
  bad.set_session_id("");
  bad.set_tenant_id("");
  CHECK_THAT(f.admin().ListApprovals(bad).status(), StatusIs(kInvalid, "tenant_id"));
}

TEST_CASE("DecideApproval approves or denies once", "[unit][sessions]") {
  ApprovalFixture f;
  const std::string yes = f.Approval(f.session_a_, kUsd);
  const std::string no = f.Approval(f.session_a_, kUsd);
  f.clock().Advance(milliseconds(10));

  auto approved = f.Decide(yes, true, "looks fine");
  REQUIRE_THAT(approved.status(), IsOk());
  CHECK(approved->approval().status() == v1::APPROVAL_STATUS_APPROVED);
  CHECK(approved->approval().decided_unix_ms() == f.clock().NowMillis());
  CHECK(approved->approval().decision_reason() == "looks fine");

  auto denied = f.Decide(no, false);
  REQUIRE_THAT(denied.status(), IsOk());
  CHECK(denied->approval().status() == v1::APPROVAL_STATUS_DENIED);
  CHECK(f.GetApproval(no)->approval().status() == v1::APPROVAL_STATUS_DENIED);

  // A second decision, either way, is refused and changes nothing.
  for (bool approve : {true, false}) {
    auto again = f.Decide(yes, approve, "changed my mind");
    CHECK_THAT(again.status(), StatusIs(kFailedPrecondition));
    CHECK(ReasonOf(again.status()) == "approval_not_pending");
  }
  auto after = f.GetApproval(yes);
  REQUIRE_THAT(after.status(), IsOk());
  CHECK(after->approval().status() == v1::APPROVAL_STATUS_APPROVED);
  CHECK(after->approval().decision_reason() == "looks fine");
}

TEST_CASE("DecideApproval: expired, cross-tenant and bad input", "[unit][sessions]") {
  ApprovalFixture f;
  const std::string id = f.Approval(f.session_a_, kUsd);

  CHECK_THAT(f.Decide(id, true, std::string(257, 'r')).status(),
             StatusIs(kInvalid, "reason must be at most 256 bytes"));
  CHECK_THAT(f.Decide(id, true, "line\nbreak").status(),
             StatusIs(kInvalid, "reason must not contain control characters"));
  CHECK_THAT(f.Decide(id, true, std::string(256, 'r')).status(), IsOk());

  const std::string late = f.Approval(f.session_a_, kUsd);
  auto cross = f.Decide(late, true, "", "globex");
  CHECK_THAT(cross.status(), StatusIs(kNotFound));
  CHECK(ReasonOf(cross.status()) == "approval_not_found");
  auto unknown = f.Decide("apr_nope", true);
  CHECK(ReasonOf(unknown.status()) == "approval_not_found");

  // Past its expiry a pending approval reads as expired (denied on timeout) and cannot be
  // approved any more.
  f.clock().Advance(milliseconds(60'000));
  CHECK(f.GetApproval(late)->approval().status() == v1::APPROVAL_STATUS_EXPIRED);
  auto expired = f.Decide(late, true);
  CHECK_THAT(expired.status(), StatusIs(kFailedPrecondition));
  CHECK(ReasonOf(expired.status()) == "approval_not_pending");
}

}  // namespace
}  // namespace p402::policy
