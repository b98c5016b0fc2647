// The guard-layer seam: order, failure modes, Abandon and OnFinished, with scripted fake layers
// in front of the real request_cap and reservation layers.
#include "services/policy/core/guard_chain.h"

#include <atomic>
#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/request_cap_layer.h"
#include "services/policy/core/reservation_layer.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::AuthRequest;
using testing::CommitReq;
using testing::kUsd;
using testing::ReleaseReq;

struct Counters {
  std::atomic<int> evaluated{0};
  std::atomic<int> abandoned{0};
  std::atomic<int> finished{0};
  std::atomic<int64_t> charged{0};
};

enum class Script { kPass, kDeny, kError };

class ScriptedLayer final : public GuardLayer {
 public:
  ScriptedLayer(std::string_view name, FailureMode mode, Script script, Counters& counters)
      : name_(name), mode_(mode), script_(script), counters_(counters) {}
  std::string_view name() const override { return name_; }
  FailureMode failure_mode() const override { return mode_; }
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override {
    ++counters_.evaluated;
    switch (script_) {
      case Script::kPass:
        return LayerOutcome::Pass();
      case Script::kDeny:
        return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_RATE_LIMIT, "rate_limited",
                                  "too many requests", 1500);
      case Script::kError:
        break;
    }
    return Unavailable("layer store down");
  }
  void Abandon(const GuardContext&) override { ++counters_.abandoned; }
  void OnFinished(const ReservationRecord&, MicroUsd charged, bool /*failed*/) override {
    ++counters_.finished;
    counters_.charged += charged;
  }

 private:
  std::string_view name_;
  FailureMode mode_;
  Script script_;
  Counters& counters_;
};

using Mode = GuardLayer::FailureMode;

struct ChainFixture {
  testing::SwitchablePolicyStore store;
  testing::FakeClock clock;
  testing::GuardTestDeps deps{store, clock};
  TenantAdmin admin{store, clock};
  Counters first;
  Counters second;
  std::unique_ptr<Guard> guard;
  std::string tenant;
  std::string key;

  ChainFixture(Mode first_mode, Script first_script, Script second_script, MicroUsd budget = 0) {
    GuardConfig config;
    std::vector<std::unique_ptr<GuardLayer>> layers;
    layers.push_back(
        std::make_unique<ScriptedLayer>(kLayerRateLimit, first_mode, first_script, first));
    layers.push_back(
        std::make_unique<ScriptedLayer>(kLayerConcurrency, Mode::kFailOpen, second_script, second));
    layers.push_back(std::make_unique<RequestCapLayer>(config));
    layers.push_back(std::make_unique<ReservationLayer>(store, config));
    auto g = Guard::Create(deps.deps(), config, std::move(layers));
    REQUIRE(g.ok());
    guard = *std::move(g);
    v1::CreateTenantRequest t;
    t.set_id("acme");
    t.mutable_limits()->set_budget_micro_usd(budget);
    REQUIRE(admin.CreateTenant(t).ok());
    tenant = "acme";
    v1::CreateApiKeyRequest k;
    k.set_tenant_id(tenant);
    key = admin.CreateApiKey(k)->secret();
  }
};

TEST_CASE("LayerRank gives the canonical order", "[unit][policy]") {
  CHECK(LayerRank("rate_limit") == 0);
  CHECK(LayerRank("daily_limit") == 1);
  CHECK(LayerRank("concurrency") == 2);
  CHECK(LayerRank("anomaly") == 3);
  CHECK(LayerRank("request_cap") == 4);
  CHECK(LayerRank("reservation") == 5);
  CHECK_FALSE(LayerRank("other").has_value());
}

TEST_CASE("A denial stops the chain and abandons the layers that passed", "[unit][policy]") {
  ChainFixture f(Mode::kFailOpen, Script::kPass, Script::kDeny);
  auto r = f.guard->Authorize(AuthRequest(f.key, kUsd));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(r->reason() == "rate_limited");
  CHECK(r->retry_after_ms() == 1500);
  // The guard's policy step comes first, then the chain's layers.
  REQUIRE(r->layers_size() == 3);
  CHECK(r->layers(0).layer() == "policy");
  CHECK(r->layers(1).layer() == "rate_limit");
  CHECK(r->layers(1).passed());
  CHECK(r->layers(2).layer() == "concurrency");
  CHECK_FALSE(r->layers(2).passed());
  CHECK(f.first.abandoned == 1);   // passed before the denial
  CHECK(f.second.abandoned == 0);  // the denying layer itself took nothing
  CHECK(f.store.inner().GetTenant(f.tenant)->reserved_micro_usd == 0);
}

TEST_CASE("A fail-open layer's error is recorded and skipped", "[unit][policy]") {
  ChainFixture f(Mode::kFailOpen, Script::kError, Script::kPass);
  auto r = f.guard->Authorize(AuthRequest(f.key, kUsd));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
  REQUIRE(r->layers_size() == 5);
  CHECK(r->layers(0).layer() == "policy");
  CHECK(r->layers(1).failed_open());
  CHECK(r->layers(1).passed());
  CHECK_FALSE(r->layers(2).failed_open());
  CHECK(r->layers(4).layer() == "reservation");
}

TEST_CASE("A fail-closed layer's error fails the call and abandons nothing it did not take",
          "[unit][policy]") {
  ChainFixture f(Mode::kFailClosed, Script::kError, Script::kPass);
  CHECK_THAT(f.guard->Authorize(AuthRequest(f.key, kUsd)).status(),
             StatusIs(absl::StatusCode::kUnavailable, "layer store down"));
  CHECK(f.second.evaluated == 0);
  CHECK(f.first.abandoned == 0);
}

TEST_CASE("A budget denial abandons every earlier layer", "[unit][policy]") {
  ChainFixture f(Mode::kFailOpen, Script::kPass, Script::kPass, /*budget=*/kUsd);
  auto r = f.guard->Authorize(AuthRequest(f.key, 2 * kUsd));
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_BUDGET);
  CHECK(f.first.abandoned == 1);
  CHECK(f.second.abandoned == 1);
}

TEST_CASE("Layers hear once when an admitted request finishes", "[unit][policy]") {
  ChainFixture f(Mode::kFailOpen, Script::kPass, Script::kPass);
  auto a = f.guard->Authorize(AuthRequest(f.key, 3 * kUsd));
  auto b = f.guard->Authorize(AuthRequest(f.key, 3 * kUsd));
  REQUIRE(a->decision() == v1::GUARD_DECISION_ALLOW);
  REQUIRE(b->decision() == v1::GUARD_DECISION_ALLOW);
  REQUIRE_THAT(f.guard->Commit(CommitReq(a->reservation().id(), 2 * kUsd)).status(), IsOk());
  REQUIRE_THAT(f.guard->Commit(CommitReq(a->reservation().id(), 2 * kUsd)).status(), IsOk());
  REQUIRE_THAT(f.guard->Release(ReleaseReq(b->reservation().id())).status(), IsOk());
  REQUIRE_THAT(f.guard->Release(ReleaseReq(b->reservation().id())).status(), IsOk());
  CHECK(f.first.finished == 2);
  CHECK(f.first.charged == 2 * kUsd);
  CHECK(f.second.finished == 2);
}

}  // namespace
}  // namespace p402::policy
