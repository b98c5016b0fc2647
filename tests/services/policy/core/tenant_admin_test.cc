#include "services/policy/core/tenant_admin.h"

#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/sha256.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::GuardFixture;
using testing::kUsd;

v1::CreateTenantRequest TenantReq(const std::string& id, const std::string& name = "") {
  v1::CreateTenantRequest req;
  req.set_id(id);
  req.set_name(name);
  return req;
}

TEST_CASE("CreateTenant stores the tenant with its limits", "[unit][policy]") {
  GuardFixture f;
  auto req = TenantReq("acme-corp_1", "Acme Corp");
  req.mutable_limits()->set_budget_micro_usd(100 * kUsd);
  req.mutable_limits()->set_per_request_cap_micro_usd(2 * kUsd);
  req.mutable_limits()->set_max_concurrent(3);
  auto created = f.admin().CreateTenant(req);
  REQUIRE_THAT(created.status(), IsOk());
  CHECK(created->tenant().id() == "acme-corp_1");
  CHECK(created->tenant().name() == "Acme Corp");
  CHECK(created->tenant().created_unix_ms() == f.clock().NowMillis());

  v1::GetTenantRequest get;
  get.set_tenant_id("acme-corp_1");
  auto got = f.admin().GetTenant(get);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->tenant().limits().budget_micro_usd() == 100 * kUsd);
  CHECK(got->tenant().limits().per_request_cap_micro_usd() == 2 * kUsd);
  CHECK(got->tenant().limits().max_concurrent() == 3);
  CHECK(got->tenant().spent_micro_usd() == 0);
  CHECK(got->tenant().reserved_micro_usd() == 0);
}

TEST_CASE("CreateTenant generates an id and a default name", "[unit][policy]") {
  GuardFixture f;
  auto a = f.admin().CreateTenant(TenantReq(""));
  auto b = f.admin().CreateTenant(TenantReq(""));
  REQUIRE_THAT(a.status(), IsOk());
  REQUIRE_THAT(b.status(), IsOk());
  CHECK(a->tenant().id().rfind("tenant_", 0) == 0);
  CHECK(a->tenant().id().size() == 7 + 16);
  CHECK(a->tenant().id() != b->tenant().id());
  CHECK(a->tenant().name() == a->tenant().id());
}

TEST_CASE("CreateTenant validates its input", "[unit][policy]") {
  GuardFixture f;
  CHECK_THAT(f.admin().CreateTenant(TenantReq("Acme")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "id may contain only lowercase"));
  CHECK_THAT(f.admin().CreateTenant(TenantReq("a b")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "id"));
  CHECK_THAT(f.admin().CreateTenant(TenantReq(std::string(65, 'a'))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "at most 64"));
  CHECK_THAT(f.admin().CreateTenant(TenantReq("acme", "bad\x01name")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "name must not contain control"));
  CHECK_THAT(f.admin().CreateTenant(TenantReq("acme", std::string(300, 'n'))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "name must be at most 256"));
  struct Case {
    void (*set)(v1::TenantLimits*);
    const char* field;
  };
  const Case cases[] = {
      {[](v1::TenantLimits* l) { l->set_per_request_cap_micro_usd(-1); },
       "per_request_cap_micro_usd"},
      {[](v1::TenantLimits* l) { l->set_daily_limit_micro_usd(-1); }, "daily_limit_micro_usd"},
      {[](v1::TenantLimits* l) { l->set_budget_micro_usd(-1); }, "budget_micro_usd"},
      {[](v1::TenantLimits* l) { l->set_requests_per_hour(-1); }, "requests_per_hour"},
      {[](v1::TenantLimits* l) { l->set_max_concurrent(-1); }, "max_concurrent"},
  };
  for (const Case& c : cases) {
    auto req = TenantReq("acme");
    c.set(req.mutable_limits());
    CHECK_THAT(f.admin().CreateTenant(req).status(),
               StatusIs(absl::StatusCode::kInvalidArgument,
                        std::string("limits.") + c.field + " must be >= 0"));
  }
  // Nothing above was created.
  v1::GetTenantRequest get;
  get.set_tenant_id("acme");
  CHECK_THAT(f.admin().GetTenant(get).status(), StatusIs(absl::StatusCode::kNotFound, "acme"));
}

TEST_CASE("CreateTenant refuses a taken id", "[unit][policy]") {
  GuardFixture f;
  REQUIRE_THAT(f.admin().CreateTenant(TenantReq("acme")).status(), IsOk());
  auto dup = f.admin().CreateTenant(TenantReq("acme"));
  CHECK_THAT(dup.status(), StatusIs(absl::StatusCode::kAlreadyExists, "acme"));
  CHECK(ReasonOf(dup.status()) == "tenant_exists");
}

TEST_CASE("GetTenant validates and reports unknown tenants", "[unit][policy]") {
  GuardFixture f;
  v1::GetTenantRequest get;
  CHECK_THAT(f.admin().GetTenant(get).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id is required"));
  get.set_tenant_id("nobody");
  auto missing = f.admin().GetTenant(get);
  CHECK_THAT(missing.status(), StatusIs(absl::StatusCode::kNotFound, "tenant 'nobody' not found"));
  CHECK(ReasonOf(missing.status()) == "tenant_not_found");
}

TEST_CASE("CreateApiKey returns the secret once and stores only its SHA-256", "[unit][policy]") {
  GuardFixture f;
  const std::string tenant = f.Tenant("acme");
  v1::CreateApiKeyRequest req;
  req.set_tenant_id(tenant);
  req.set_name("ci");
  req.set_admin(true);
  auto created = f.admin().CreateApiKey(req);
  REQUIRE_THAT(created.status(), IsOk());
  const std::string& secret = created->secret();
  CHECK(secret.rfind("sk-p402-", 0) == 0);
  CHECK(secret.size() == 8 + 33);  // 24 random bytes as base62
  CHECK(created->key().id().rfind("key_", 0) == 0);
  CHECK(created->key().prefix() == secret.substr(0, 12));
  CHECK(created->key().tenant_id() == tenant);
  CHECK(created->key().name() == "ci");
  CHECK(created->key().admin());
  CHECK_FALSE(created->key().revoked());

  auto stored = f.store().inner().FindApiKeyByHash(crypto::Sha256Hex(secret));
  REQUIRE_THAT(stored.status(), IsOk());
  REQUIRE(stored->has_value());
  const ApiKeyRecord& rec = **stored;
  CHECK(rec.id == created->key().id());
  CHECK(rec.key_hash == crypto::Sha256Hex(secret));
  // No field of the stored record holds the secret.
  for (const std::string* field :
       {&rec.id, &rec.tenant_id, &rec.name, &rec.prefix, &rec.key_hash}) {
    CHECK(field->find(secret) == std::string::npos);
  }

  auto second = f.admin().CreateApiKey(req);
  REQUIRE_THAT(second.status(), IsOk());
  CHECK(second->secret() != secret);
  CHECK(second->key().id() != created->key().id());
}

TEST_CASE("CreateApiKey validates and needs an existing tenant", "[unit][policy]") {
  GuardFixture f;
  v1::CreateApiKeyRequest req;
  CHECK_THAT(f.admin().CreateApiKey(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id is required"));
  req.set_tenant_id("nobody");
  CHECK_THAT(f.admin().CreateApiKey(req).status(),
             StatusIs(absl::StatusCode::kNotFound, "tenant 'nobody' not found"));
  f.Tenant("acme");
  req.set_tenant_id("acme");
  req.set_name(std::string(257, 'x'));
  CHECK_THAT(f.admin().CreateApiKey(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "name"));
}

TEST_CASE("ListApiKeys lists a tenant's keys oldest first", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  f.Tenant("other");
  const auto k1 = f.Key("acme");
  f.clock().Advance(std::chrono::seconds(1));
  const auto k2 = f.Key("acme");
  f.Key("other");

  v1::ListApiKeysRequest list;
  list.set_tenant_id("acme");
  auto keys = f.admin().ListApiKeys(list);
  REQUIRE_THAT(keys.status(), IsOk());
  REQUIRE(keys->keys_size() == 2);
  CHECK(keys->keys(0).id() == k1.key().id());
  CHECK(keys->keys(1).id() == k2.key().id());

  list.set_tenant_id("nobody");
  CHECK_THAT(f.admin().ListApiKeys(list).status(), StatusIs(absl::StatusCode::kNotFound));
  list.set_tenant_id("");
  CHECK_THAT(f.admin().ListApiKeys(list).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("RevokeApiKey is idempotent and reports unknown keys", "[unit][policy]") {
  GuardFixture f;
  const auto key = f.Key(f.Tenant("acme"));
  v1::RevokeApiKeyRequest req;
  req.set_key_id(key.key().id());
  auto first = f.admin().RevokeApiKey(req);
  REQUIRE_THAT(first.status(), IsOk());
  CHECK(first->key().revoked());
  auto again = f.admin().RevokeApiKey(req);
  REQUIRE_THAT(again.status(), IsOk());
  CHECK(again->key().revoked());

  req.set_key_id("key_missing");
  auto missing = f.admin().RevokeApiKey(req);
  CHECK_THAT(missing.status(), StatusIs(absl::StatusCode::kNotFound, "key_missing"));
  CHECK(ReasonOf(missing.status()) == "api_key_not_found");
  req.set_key_id("");
  CHECK_THAT(f.admin().RevokeApiKey(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "key_id is required"));
}

TEST_CASE("RevokeApiKey with a tenant refuses another tenant's key", "[unit][policy]") {
  GuardFixture f;
  const auto acme_key = f.Key(f.Tenant("acme"));
  const auto other_key = f.Key(f.Tenant("other"));
  v1::RevokeApiKeyRequest req;
  req.set_tenant_id("acme");
  req.set_key_id(other_key.key().id());
  auto refused = f.admin().RevokeApiKey(req);
  CHECK_THAT(refused.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(refused.status()) == "api_key_not_found");
  // Nothing was revoked: the other tenant's key still authenticates.
  v1::ListApiKeysRequest list;
  list.set_tenant_id("other");
  auto keys = f.admin().ListApiKeys(list);
  REQUIRE_THAT(keys.status(), IsOk());
  REQUIRE(keys->keys_size() == 1);
  CHECK_FALSE(keys->keys(0).revoked());

  req.set_key_id(acme_key.key().id());
  auto own = f.admin().RevokeApiKey(req);
  REQUIRE_THAT(own.status(), IsOk());
  CHECK(own->key().revoked());
}

TEST_CASE("Management calls report a store outage as Unavailable", "[unit][policy]") {
  GuardFixture f;
  f.store().set_down(true);
  CHECK_THAT(f.admin().CreateTenant(TenantReq("acme")).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  v1::GetTenantRequest get;
  get.set_tenant_id("acme");
  CHECK_THAT(f.admin().GetTenant(get).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_CASE("UpdateTenant replaces the name and/or the limits", "[unit][policy]") {
  GuardFixture f;
  auto create = TenantReq("acme", "Acme");
  create.mutable_limits()->set_budget_micro_usd(10 * kUsd);
  create.mutable_limits()->set_max_concurrent(3);
  REQUIRE_THAT(f.admin().CreateTenant(create).status(), IsOk());

  // Name only: the limits stay.
  v1::UpdateTenantRequest rename;
  rename.set_tenant_id("acme");
  rename.set_name("Acme Inc");
  auto renamed = f.admin().UpdateTenant(rename);
  REQUIRE_THAT(renamed.status(), IsOk());
  CHECK(renamed->tenant().name() == "Acme Inc");
  CHECK(renamed->tenant().limits().budget_micro_usd() == 10 * kUsd);
  CHECK(renamed->tenant().limits().max_concurrent() == 3);

  // Limits only: replaced as a whole (max_concurrent falls back to 0 = service default), the new
  // fields round-trip, the name stays.
  v1::UpdateTenantRequest relimit;
  relimit.set_tenant_id("acme");
  relimit.mutable_limits()->set_budget_micro_usd(20 * kUsd);
  relimit.mutable_limits()->set_anomaly_zscore_centi(450);
  relimit.mutable_limits()->set_reservation_ttl_ms(60'000);
  auto relimited = f.admin().UpdateTenant(relimit);
  REQUIRE_THAT(relimited.status(), IsOk());
  CHECK(relimited->tenant().name() == "Acme Inc");
  CHECK(relimited->tenant().limits().budget_micro_usd() == 20 * kUsd);
  CHECK(relimited->tenant().limits().max_concurrent() == 0);
  CHECK(relimited->tenant().limits().anomaly_zscore_centi() == 450);
  CHECK(relimited->tenant().limits().reservation_ttl_ms() == 60'000);
  CHECK(f.Get("acme").limits.reservation_ttl_ms == 60'000);

  // The tenant's TTL reaches the reservations the guard takes.
  const auto key = f.Key("acme");
  auto admitted = f.guard().Authorize(testing::AuthRequest(key.secret(), kUsd));
  REQUIRE_THAT(admitted.status(), IsOk());
  CHECK(admitted->reservation().expires_unix_ms() == f.clock().NowMillis() + 60'000);

  // An empty name resets it to the id.
  rename.set_name("");
  CHECK(f.admin().UpdateTenant(rename)->tenant().name() == "acme");
}

TEST_CASE("UpdateTenant validates and reports unknown tenants", "[unit][policy]") {
  GuardFixture f;
  REQUIRE_THAT(f.admin().CreateTenant(TenantReq("acme")).status(), IsOk());
  v1::UpdateTenantRequest req;
  req.set_tenant_id("acme");
  req.mutable_limits()->set_anomaly_zscore_centi(-1);
  CHECK_THAT(f.admin().UpdateTenant(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "limits.anomaly_zscore_centi"));
  for (int64_t ttl : {int64_t{1}, int64_t{999}, int64_t{86'400'001}, int64_t{-5}}) {
    req.mutable_limits()->Clear();
    req.mutable_limits()->set_reservation_ttl_ms(ttl);
    CHECK_THAT(f.admin().UpdateTenant(req).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "limits.reservation_ttl_ms"));
  }
  req.mutable_limits()->Clear();
  req.mutable_limits()->set_budget_micro_usd(-1);
  CHECK_THAT(f.admin().UpdateTenant(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "limits.budget_micro_usd"));
  req.clear_limits();
  req.set_name("bad\x02");
  CHECK_THAT(f.admin().UpdateTenant(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "name"));
  req.clear_name();
  req.set_tenant_id("Nope");
  CHECK_THAT(f.admin().UpdateTenant(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));
  req.set_tenant_id("missing");
  auto missing = f.admin().UpdateTenant(req);
  CHECK_THAT(missing.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(missing.status()) == "tenant_not_found");
  // The same bounds apply at creation.
  auto create = TenantReq("other");
  create.mutable_limits()->set_reservation_ttl_ms(500);
  CHECK_THAT(f.admin().CreateTenant(create).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "limits.reservation_ttl_ms"));
}

TEST_CASE("SetTenantPaused pauses and resumes a tenant's traffic", "[unit][policy]") {
  GuardFixture f;
  const auto key = f.Key(f.Tenant("acme"));
  v1::SetTenantPausedRequest pause;
  pause.set_tenant_id("acme");
  pause.set_paused(true);
  pause.set_reason("incident 42");
  auto paused = f.admin().SetTenantPaused(pause);
  REQUIRE_THAT(paused.status(), IsOk());
  CHECK(paused->tenant().paused());
  CHECK(paused->tenant().pause_reason() == "incident 42");

  auto denied = f.guard().Authorize(testing::AuthRequest(key.secret(), kUsd));
  REQUIRE_THAT(denied.status(), IsOk());
  CHECK(denied->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(denied->reason() == "tenant_paused");
  CHECK_THAT(denied->message(), Catch::Contains("incident 42"));

  pause.set_paused(false);
  pause.set_reason("");
  auto resumed = f.admin().SetTenantPaused(pause);
  REQUIRE_THAT(resumed.status(), IsOk());
  CHECK_FALSE(resumed->tenant().paused());
  CHECK(resumed->tenant().pause_reason().empty());
  CHECK(f.guard().Authorize(testing::AuthRequest(key.secret(), kUsd))->decision() ==
        v1::GUARD_DECISION_ALLOW);

  pause.set_reason(std::string(300, 'r'));
  CHECK_THAT(f.admin().SetTenantPaused(pause).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "reason"));
  pause.set_reason("x");
  pause.set_tenant_id("missing");
  auto missing = f.admin().SetTenantPaused(pause);
  CHECK_THAT(missing.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(missing.status()) == "tenant_not_found");
}

TEST_CASE("Authenticate resolves keys and session tokens without the guard", "[unit][policy]") {
  GuardFixture f;
  f.Tenant("acme");
  v1::CreateApiKeyRequest admin_key;
  admin_key.set_tenant_id("acme");
  admin_key.set_admin(true);
  auto admin = f.admin().CreateApiKey(admin_key);
  REQUIRE_THAT(admin.status(), IsOk());
  const auto plain = f.Key("acme");

  auto auth = [&](const std::string& secret) {
    v1::AuthenticateRequest req;
    req.mutable_credential()->set_api_key(secret);
    auto r = f.admin().Authenticate(req);
    REQUIRE_THAT(r.status(), IsOk());
    return *r;
  };
  auto a = auth(admin->secret());
  CHECK(a.authenticated());
  CHECK(a.tenant_id() == "acme");
  CHECK(a.api_key_id() == admin->key().id());
  CHECK(a.admin());
  CHECK_FALSE(auth(plain.secret()).admin());
  CHECK(auth(plain.secret()).authenticated());
  CHECK(auth("").reason() == "missing_api_key");
  CHECK(auth("sk-p402-nope").reason() == "invalid_api_key");
  CHECK_FALSE(auth("sk-p402-nope").authenticated());

  // A paused tenant still authenticates (it must be able to resume).
  v1::SetTenantPausedRequest pause;
  pause.set_tenant_id("acme");
  pause.set_paused(true);
  REQUIRE_THAT(f.admin().SetTenantPaused(pause).status(), IsOk());
  CHECK(auth(admin->secret()).authenticated());

  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(plain.key().id());
  REQUIRE_THAT(f.admin().RevokeApiKey(revoke).status(), IsOk());
  CHECK(auth(plain.secret()).reason() == "revoked_api_key");

  // Session tokens: as api_key or session_token; revoked and expired ones do not authenticate.
  v1::CreateSessionRequest create;
  create.set_tenant_id("acme");
  create.set_agent_id("agent");
  create.set_budget_micro_usd(kUsd);
  create.set_duration_ms(3'600'000);
  auto session = f.session_admin().CreateSession(create);
  REQUIRE_THAT(session.status(), IsOk());
  auto s = auth(session->token());
  CHECK(s.authenticated());
  CHECK(s.tenant_id() == "acme");
  CHECK(s.session_id() == session->session().id());
  CHECK(s.api_key_id().empty());
  CHECK_FALSE(s.admin());
  v1::AuthenticateRequest by_field;
  by_field.mutable_credential()->set_session_token(session->token());
  CHECK(f.admin().Authenticate(by_field)->authenticated());
  CHECK(auth("sk-p402-sess-unknown").reason() == "invalid_session_token");

  f.clock().Advance(std::chrono::hours(2));
  CHECK(auth(session->token()).reason() == "session_expired");
  v1::RevokeSessionRequest revoke_session;
  revoke_session.set_tenant_id("acme");
  revoke_session.set_session_id(session->session().id());
  REQUIRE_THAT(f.session_admin().RevokeSession(revoke_session).status(), IsOk());
  CHECK(auth(session->token()).reason() == "session_revoked");

  v1::AuthenticateRequest paid;
  paid.mutable_credential()->mutable_paid()->set_payer("0xabc");
  CHECK_THAT(f.admin().Authenticate(paid).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "credential"));
  f.store().set_down(true);
  CHECK_THAT(f.admin().Authenticate(by_field).status(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace p402::policy
