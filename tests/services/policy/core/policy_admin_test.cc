#include "services/policy/core/policy_admin.h"

#include <chrono>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/core/policy_cache.h"
#include "services/policy/core/policy_rules.h"
#include "services/policy/core/tenant_admin.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::FakeClock;
using testing::SwitchablePolicyStore;

// PolicyAdmin over an InMemoryPolicyStore (behind the switchable wrapper), with a cache whose TTL
// is an hour so that only invalidation can refresh it within a test.
class AdminFixture {
 public:
  AdminFixture()
      : tenants_(store_, clock_),
        cache_(store_, clock_, std::chrono::hours(1)),
        admin_(store_, clock_, cache_) {
    Tenant("acme");
    Tenant("globex");
  }

  void Tenant(const std::string& id) {
    v1::CreateTenantRequest req;
    req.set_id(id);
    REQUIRE(tenants_.CreateTenant(req).ok());
  }

  v1::TenantPolicy Create(const std::string& tenant, v1::TenantPolicy policy) {
    v1::CreatePolicyRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_policy() = std::move(policy);
    auto created = admin_.CreatePolicy(req);
    REQUIRE_THAT(created.status(), IsOk());
    return created->policy();
  }

  absl::StatusOr<v1::GetPolicyResponse> Get(const std::string& tenant, const std::string& id) {
    v1::GetPolicyRequest req;
    req.set_tenant_id(tenant);
    req.set_policy_id(id);
    return admin_.GetPolicy(req);
  }

  std::vector<std::string> ListIds(const std::string& tenant) {
    v1::ListPoliciesRequest req;
    req.set_tenant_id(tenant);
    auto listed = admin_.ListPolicies(req);
    REQUIRE_THAT(listed.status(), IsOk());
    std::vector<std::string> ids;
    for (const auto& p : listed->policies()) {
      ids.push_back(p.id());
    }
    return ids;
  }

  SwitchablePolicyStore& store() { return store_; }
  FakeClock& clock() { return clock_; }
  PolicyCache& cache() { return cache_; }
  PolicyAdmin& admin() { return admin_; }

 private:
  SwitchablePolicyStore store_;
  FakeClock clock_;
  TenantAdmin tenants_;
  PolicyCache cache_;
  PolicyAdmin admin_;
};

v1::TenantPolicy ModelPolicy(const std::string& name, int priority = 0,
                             const std::string& tier = "mid") {
  v1::TenantPolicy p;
  p.set_name(name);
  p.set_priority(priority);
  p.set_enabled(true);
  p.mutable_model()->set_max_tier(tier);
  return p;
}

bool IsPolicyId(const std::string& id) {
  if (id.size() != 4 + 16 || id.rfind("pol_", 0) != 0) {
    return false;
  }
  for (char c : id.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

TEST_CASE("CreatePolicy assigns id, owner and timestamps and stores the policy",
          "[unit][policies]") {
  AdminFixture f;
  v1::TenantPolicy in = ModelPolicy("tier cap", 7);
  // Caller-supplied id, owner and timestamps are ignored.
  in.set_id("pol_mine");
  in.set_tenant_id("globex");
  in.set_created_unix_ms(1);
  in.set_updated_unix_ms(2);
  v1::TenantPolicy created = f.Create("acme", in);
  CHECK(IsPolicyId(created.id()));
  CHECK(created.tenant_id() == "acme");
  CHECK(created.created_unix_ms() == f.clock().NowMillis());
  CHECK(created.updated_unix_ms() == f.clock().NowMillis());
  CHECK(created.name() == "tier cap");
  CHECK(created.priority() == 7);
  CHECK(created.enabled());
  CHECK(created.model().max_tier() == "mid");

  auto got = f.Get("acme", created.id());
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->policy().SerializeAsString() == created.SerializeAsString());

  v1::TenantPolicy second = f.Create("acme", ModelPolicy("another"));
  CHECK(second.id() != created.id());
}

TEST_CASE("CreatePolicy rejects bad input and unknown tenants", "[unit][policies]") {
  AdminFixture f;
  v1::CreatePolicyRequest req;
  req.set_tenant_id("acme");
  *req.mutable_policy() = ModelPolicy("bad", 0, "gold");
  CHECK_THAT(f.admin().CreatePolicy(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "model.max_tier"));

  *req.mutable_policy() = ModelPolicy("ok");
  req.set_tenant_id("Not A Tenant");
  CHECK_THAT(f.admin().CreatePolicy(req).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));

  req.set_tenant_id("nobody");
  absl::Status missing = f.admin().CreatePolicy(req).status();
  CHECK_THAT(missing, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(missing) == "tenant_not_found");

  v1::ListPoliciesRequest list;
  list.set_tenant_id("nobody");
  absl::Status list_missing = f.admin().ListPolicies(list).status();
  CHECK_THAT(list_missing, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(list_missing) == "tenant_not_found");

  CHECK(f.ListIds("acme").empty());
}

TEST_CASE("ListPolicies orders by priority, then age", "[unit][policies]") {
  AdminFixture f;
  const std::string low = f.Create("acme", ModelPolicy("low", -3)).id();
  f.clock().Advance(std::chrono::milliseconds(10));
  const std::string high_old = f.Create("acme", ModelPolicy("high old", 5)).id();
  f.clock().Advance(std::chrono::milliseconds(10));
  const std::string mid = f.Create("acme", ModelPolicy("mid", 0)).id();
  f.clock().Advance(std::chrono::milliseconds(10));
  const std::string high_new = f.Create("acme", ModelPolicy("high new", 5)).id();
  f.Create("globex", ModelPolicy("other tenant", 100));

  CHECK(f.ListIds("acme") == std::vector<std::string>{high_old, high_new, mid, low});
  CHECK(f.ListIds("globex").size() == 1);
}

TEST_CASE("Another tenant's policy is not found", "[unit][policies]") {
  AdminFixture f;
  v1::TenantPolicy mine = f.Create("acme", ModelPolicy("mine"));

  absl::Status got = f.Get("globex", mine.id()).status();
  CHECK_THAT(got, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(got) == "policy_not_found");

  v1::UpdatePolicyRequest update;
  update.set_tenant_id("globex");
  *update.mutable_policy() = ModelPolicy("hijacked", 0, "budget");
  update.mutable_policy()->set_id(mine.id());
  absl::Status updated = f.admin().UpdatePolicy(update).status();
  CHECK_THAT(updated, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(updated) == "policy_not_found");

  v1::DeletePolicyRequest del;
  del.set_tenant_id("globex");
  del.set_policy_id(mine.id());
  absl::Status deleted = f.admin().DeletePolicy(del).status();
  CHECK_THAT(deleted, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(deleted) == "policy_not_found");

  auto still = f.Get("acme", mine.id());
  REQUIRE_THAT(still.status(), IsOk());
  CHECK(still->policy().SerializeAsString() == mine.SerializeAsString());

  CHECK(ReasonOf(f.Get("acme", "pol_0000000000000000").status()) == "policy_not_found");
  CHECK_THAT(f.Get("acme", "pol/../x").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "policy_id"));
  CHECK_THAT(f.Get("acme", "").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "policy_id is required"));
}

TEST_CASE("UpdatePolicy replaces the policy whole and keeps its creation time",
          "[unit][policies]") {
  AdminFixture f;
  v1::TenantPolicy created = f.Create("acme", ModelPolicy("tier", 1));
  f.clock().Advance(std::chrono::seconds(5));

  v1::UpdatePolicyRequest req;
  req.set_tenant_id("acme");
  v1::TenantPolicy& next = *req.mutable_policy();
  next.set_id(created.id());
  next.set_name("providers now");
  next.set_priority(-2);
  next.set_enabled(false);
  next.mutable_provider()->add_deny("deepseek");
  next.set_created_unix_ms(42);  // ignored
  auto updated = f.admin().UpdatePolicy(req);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->policy().created_unix_ms() == created.created_unix_ms());
  CHECK(updated->policy().updated_unix_ms() == f.clock().NowMillis());
  CHECK(updated->policy().tenant_id() == "acme");

  auto got = f.Get("acme", created.id());
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->policy().name() == "providers now");
  CHECK(got->policy().priority() == -2);
  CHECK_FALSE(got->policy().enabled());
  CHECK_FALSE(got->policy().has_model());  // replaced, not merged
  CHECK(got->policy().provider().deny(0) == "deepseek");

  SECTION("invalid replacement leaves the stored policy alone") {
    next.clear_provider();
    absl::Status status = f.admin().UpdatePolicy(req).status();
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "rule is required"));
    CHECK(f.Get("acme", created.id())->policy().provider().deny(0) == "deepseek");
  }
  SECTION("the id is required") {
    next.clear_id();
    CHECK_THAT(f.admin().UpdatePolicy(req).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "policy.id is required"));
  }
  SECTION("an unknown id is not found") {
    next.set_id("pol_ffffffffffffffff");
    absl::Status status = f.admin().UpdatePolicy(req).status();
    CHECK_THAT(status, StatusIs(absl::StatusCode::kNotFound));
    CHECK(ReasonOf(status) == "policy_not_found");
  }
}

TEST_CASE("DeletePolicy returns the policy once", "[unit][policies]") {
  AdminFixture f;
  v1::TenantPolicy created = f.Create("acme", ModelPolicy("doomed"));
  v1::DeletePolicyRequest req;
  req.set_tenant_id("acme");
  req.set_policy_id(created.id());
  auto deleted = f.admin().DeletePolicy(req);
  REQUIRE_THAT(deleted.status(), IsOk());
  CHECK(deleted->policy().SerializeAsString() == created.SerializeAsString());
  CHECK(ReasonOf(f.Get("acme", created.id()).status()) == "policy_not_found");
  absl::Status again = f.admin().DeletePolicy(req).status();
  CHECK_THAT(again, StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(again) == "policy_not_found");
  CHECK(f.ListIds("acme").empty());
}

TEST_CASE("A tenant may have at most 100 policies", "[unit][policies]") {
  AdminFixture f;
  std::string first;
  for (int i = 0; i < kMaxPoliciesPerTenant; ++i) {
    std::string id = f.Create("acme", ModelPolicy("p" + std::to_string(i))).id();
    if (i == 0) {
      first = id;
    }
  }
  v1::CreatePolicyRequest req;
  req.set_tenant_id("acme");
  *req.mutable_policy() = ModelPolicy("one too many");
  absl::Status full = f.admin().CreatePolicy(req).status();
  CHECK_THAT(full, StatusIs(absl::StatusCode::kFailedPrecondition, "at most 100"));
  CHECK(ReasonOf(full) == "too_many_policies");
  CHECK(f.ListIds("acme").size() == 100);

  f.Create("globex", ModelPolicy("other tenants are not counted"));

  v1::DeletePolicyRequest del;
  del.set_tenant_id("acme");
  del.set_policy_id(first);
  REQUIRE(f.admin().DeletePolicy(del).ok());
  CHECK_THAT(f.admin().CreatePolicy(req).status(), IsOk());
}

TEST_CASE("Every change through PolicyAdmin is visible through the cache at once",
          "[unit][policies]") {
  AdminFixture f;
  auto cached = [&]() {
    auto list = f.cache().Get("acme");
    REQUIRE_THAT(list.status(), IsOk());
    return *list;
  };
  CHECK(cached()->empty());  // now cached for an hour

  // A write that bypasses PolicyAdmin is not seen: the cache really serves from memory.
  v1::TenantPolicy direct = ModelPolicy("direct");
  direct.set_id("pol_direct");
  direct.set_tenant_id("acme");
  REQUIRE(f.store().CreatePolicy(direct).ok());
  CHECK(cached()->empty());

  v1::TenantPolicy created = f.Create("acme", ModelPolicy("via admin", 9));
  REQUIRE(cached()->size() == 2);
  CHECK((*cached())[0].id() == created.id());

  v1::UpdatePolicyRequest update;
  update.set_tenant_id("acme");
  *update.mutable_policy() = ModelPolicy("via admin", 9, "budget");
  update.mutable_policy()->set_id(created.id());
  REQUIRE(f.admin().UpdatePolicy(update).ok());
  CHECK((*cached())[0].model().max_tier() == "budget");

  v1::DeletePolicyRequest del;
  del.set_tenant_id("acme");
  del.set_policy_id(created.id());
  REQUIRE(f.admin().DeletePolicy(del).ok());
  REQUIRE(cached()->size() == 1);
  CHECK((*cached())[0].id() == "pol_direct");
}

TEST_CASE("PolicyCache reloads after its TTL and never serves stale data on errors",
          "[unit][policies]") {
  AdminFixture f;
  PolicyCache cache(f.store(), f.clock(), std::chrono::seconds(1));
  REQUIRE(cache.Get("acme").ok());
  v1::TenantPolicy direct = ModelPolicy("direct");
  direct.set_id("pol_direct");
  direct.set_tenant_id("acme");
  REQUIRE(f.store().CreatePolicy(direct).ok());

  f.clock().Advance(std::chrono::milliseconds(999));
  CHECK((*cache.Get("acme"))->empty());
  f.clock().Advance(std::chrono::milliseconds(1));
  CHECK((*cache.Get("acme"))->size() == 1);

  f.store().set_down(true);
  f.clock().Advance(std::chrono::seconds(1));
  CHECK_THAT(cache.Get("acme").status(), StatusIs(absl::StatusCode::kUnavailable));
  f.store().set_down(false);
  CHECK((*cache.Get("acme"))->size() == 1);

  SECTION("ttl 0 reads the store every time") {
    PolicyCache uncached(f.store(), f.clock(), std::chrono::milliseconds(0));
    REQUIRE((*uncached.Get("acme"))->size() == 1);
    v1::TenantPolicy more = direct;
    more.set_id("pol_more");
    REQUIRE(f.store().CreatePolicy(more).ok());
    CHECK((*uncached.Get("acme"))->size() == 2);
  }
}

TEST_CASE("PolicyAdmin passes store outages through", "[unit][policies]") {
  AdminFixture f;
  v1::TenantPolicy created = f.Create("acme", ModelPolicy("kept"));
  f.store().set_down(true);
  v1::CreatePolicyRequest req;
  req.set_tenant_id("acme");
  *req.mutable_policy() = ModelPolicy("x");
  CHECK_THAT(f.admin().CreatePolicy(req).status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(f.Get("acme", created.id()).status(), StatusIs(absl::StatusCode::kUnavailable));
  v1::ListPoliciesRequest list;
  list.set_tenant_id("acme");
  CHECK_THAT(f.admin().ListPolicies(list).status(), StatusIs(absl::StatusCode::kUnavailable));
  f.store().set_down(false);
  CHECK(f.ListIds("acme") == std::vector<std::string>{created.id()});
}

}  // namespace
}  // namespace p402::policy
