// Reservation lifecycle through the Guard: commit, release, replays, expiry, and fail-closed
// behaviour when the store is down.
#include <string>

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
using testing::ReleaseReq;

struct Admitted {
  std::string tenant;
  std::string key;
  std::string reservation;
};

Admitted Admit(GuardFixture& f, MicroUsd budget, MicroUsd worst_case) {
  Admitted a;
  a.tenant = f.TenantWithBudget("acme", budget);
  a.key = f.Key(a.tenant).secret();
  auto r = f.guard().Authorize(AuthRequest(a.key, worst_case));
  REQUIRE_THAT(r.status(), IsOk());
  REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
  a.reservation = r->reservation().id();
  return a;
}

TEST_CASE("Commit charges the actual cost and is idempotent", "[unit][policy]") {
  GuardFixture f;
  const Admitted a = Admit(f, 10 * kUsd, 4 * kUsd);
  REQUIRE(f.Reserved(a.tenant) == 4 * kUsd);

  auto first = f.guard().Commit(CommitReq(a.reservation, 1'234'567));
  REQUIRE_THAT(first.status(), IsOk());
  CHECK(first->charged_micro_usd() == 1'234'567);
  CHECK(first->overrun_micro_usd() == 0);
  CHECK_FALSE(first->already_committed());
  CHECK(f.Spent(a.tenant) == 1'234'567);
  CHECK(f.Reserved(a.tenant) == 0);

  // A replay (even with a different figure) changes nothing and reports the first charge.
  auto replay = f.guard().Commit(CommitReq(a.reservation, 3 * kUsd));
  REQUIRE_THAT(replay.status(), IsOk());
  CHECK(replay->already_committed());
  CHECK(replay->charged_micro_usd() == 1'234'567);
  CHECK(f.Spent(a.tenant) == 1'234'567);
  CHECK(f.Reserved(a.tenant) == 0);

  // Release after commit is a no-op.
  auto release = f.guard().Release(ReleaseReq(a.reservation));
  REQUIRE_THAT(release.status(), IsOk());
  CHECK(release->already_finalized());
  CHECK(f.Spent(a.tenant) == 1'234'567);
}

TEST_CASE("Commit clamps an actual cost above the reservation and reports the overrun",
          "[unit][policy]") {
  GuardFixture f;
  const Admitted a = Admit(f, 10 * kUsd, 2 * kUsd);
  auto c = f.guard().Commit(CommitReq(a.reservation, 2 * kUsd + 500));
  REQUIRE_THAT(c.status(), IsOk());
  CHECK(c->charged_micro_usd() == 2 * kUsd);
  CHECK(c->overrun_micro_usd() == 500);
  CHECK(f.Spent(a.tenant) == 2 * kUsd);
  CHECK(f.Reserved(a.tenant) == 0);
}

TEST_CASE("Release returns the hold and is idempotent, and a later commit is refused",
          "[unit][policy]") {
  GuardFixture f;
  const Admitted a = Admit(f, 10 * kUsd, 10 * kUsd);
  // The whole budget is held: another request is denied.
  REQUIRE(f.guard().Authorize(AuthRequest(a.key, 1))->decision() == v1::GUARD_DECISION_DENY_BUDGET);

  auto released = f.guard().Release(ReleaseReq(a.reservation));
  REQUIRE_THAT(released.status(), IsOk());
  CHECK_FALSE(released->already_finalized());
  CHECK(f.Reserved(a.tenant) == 0);
  CHECK(f.Spent(a.tenant) == 0);

  auto again = f.guard().Release(ReleaseReq(a.reservation));
  REQUIRE_THAT(again.status(), IsOk());
  CHECK(again->already_finalized());
  CHECK(f.Reserved(a.tenant) == 0);

  // Documented choice: the caller said nothing was delivered, so a later charge is a bug.
  auto commit = f.guard().Commit(CommitReq(a.reservation, kUsd));
  CHECK_THAT(commit.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "released"));
  CHECK(ReasonOf(commit.status()) == "reservation_released");
  CHECK(f.Spent(a.tenant) == 0);

  // The budget is whole again.
  CHECK(f.guard().Authorize(AuthRequest(a.key, 10 * kUsd))->decision() == v1::GUARD_DECISION_ALLOW);
}

TEST_CASE("Commit and Release validate their input", "[unit][policy]") {
  GuardFixture f;
  const Admitted a = Admit(f, 10 * kUsd, kUsd);
  CHECK_THAT(f.guard().Commit(CommitReq("", 1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "reservation_id is required"));
  CHECK_THAT(f.guard().Commit(CommitReq("rsv_'; DROP TABLE x;--", 1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "reservation_id"));
  CHECK_THAT(f.guard().Commit(CommitReq(a.reservation, -1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "actual_micro_usd"));
  CHECK_THAT(f.guard().Commit(CommitReq("rsv_unknown", 1)).status(),
             StatusIs(absl::StatusCode::kNotFound, "reservation"));
  CHECK_THAT(f.guard().Release(ReleaseReq("rsv_unknown")).status(),
             StatusIs(absl::StatusCode::kNotFound, "reservation"));
  CHECK_THAT(f.guard().Release(ReleaseReq(std::string(200, 'r'))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "at most 128"));
  auto bad_reason = ReleaseReq(a.reservation);
  bad_reason.set_reason("line\nbreak");
  CHECK_THAT(f.guard().Release(bad_reason).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "reason"));
  // None of the rejected calls touched the reservation.
  CHECK(f.Reserved(a.tenant) == kUsd);
}

TEST_CASE("Reservations expire after the TTL and give the budget back", "[unit][policy]") {
  GuardFixture f;  // TTL 5 min
  const Admitted a = Admit(f, 10 * kUsd, 10 * kUsd);

  f.clock().Advance(std::chrono::minutes(5) - std::chrono::milliseconds(1));
  auto none = f.guard().ExpireReservations();
  REQUIRE_THAT(none.status(), IsOk());
  CHECK(*none == 0);
  CHECK(f.Reserved(a.tenant) == 10 * kUsd);

  f.clock().Advance(std::chrono::milliseconds(1));
  auto one = f.guard().ExpireReservations();
  REQUIRE_THAT(one.status(), IsOk());
  CHECK(*one == 1);
  CHECK(f.Reserved(a.tenant) == 0);
  CHECK(*f.guard().ExpireReservations() == 0);  // each reservation expires once
  CHECK(f.store().inner().GetReservation(a.reservation)->status == ReservationStatus::kExpired);

  SECTION("release after expiry is a no-op") {
    auto r = f.guard().Release(ReleaseReq(a.reservation));
    REQUIRE_THAT(r.status(), IsOk());
    CHECK(r->already_finalized());
    CHECK(f.Reserved(a.tenant) == 0);
  }
  SECTION("a late commit still records the spend, without touching other holds") {
    auto other = f.guard().Authorize(AuthRequest(a.key, 3 * kUsd));
    REQUIRE(other->decision() == v1::GUARD_DECISION_ALLOW);
    auto c = f.guard().Commit(CommitReq(a.reservation, 6 * kUsd));
    REQUIRE_THAT(c.status(), IsOk());
    CHECK(c->charged_micro_usd() == 6 * kUsd);
    CHECK_FALSE(c->already_committed());
    CHECK(f.Spent(a.tenant) == 6 * kUsd);
    CHECK(f.Reserved(a.tenant) == 3 * kUsd);
  }
}

TEST_CASE("The guard fails closed when its store is down", "[unit][policy]") {
  GuardFixture f;
  const Admitted a = Admit(f, 10 * kUsd, kUsd);

  SECTION("everything down: Unavailable, never an ALLOW") {
    f.store().set_down(true);
    CHECK_THAT(f.guard().Authorize(AuthRequest(a.key, kUsd)).status(),
               StatusIs(absl::StatusCode::kUnavailable));
    CHECK_THAT(f.guard().Commit(CommitReq(a.reservation, 1)).status(),
               StatusIs(absl::StatusCode::kUnavailable));
    CHECK_THAT(f.guard().Release(ReleaseReq(a.reservation)).status(),
               StatusIs(absl::StatusCode::kUnavailable));
    CHECK_THAT(f.guard().ExpireReservations().status(), StatusIs(absl::StatusCode::kUnavailable));
  }
  SECTION("only the reservation fails: the fail-closed layer returns the error") {
    f.store().set_reserve_down(true);
    CHECK_THAT(f.guard().Authorize(AuthRequest(a.key, kUsd)).status(),
               StatusIs(absl::StatusCode::kUnavailable));
    CHECK(f.Reserved(a.tenant) == kUsd);
  }
}

}  // namespace
}  // namespace p402::policy
