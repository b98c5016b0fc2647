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

TEST_CASE("Management calls report a store outage as Unavailable", "[unit][policy]") {
  GuardFixture f;
  f.store().set_down(true);
  CHECK_THAT(f.admin().CreateTenant(TenantReq("acme")).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  v1::GetTenantRequest get;
  get.set_tenant_id("acme");
  CHECK_THAT(f.admin().GetTenant(get).status(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace p402::policy
