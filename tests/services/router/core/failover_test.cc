#include "services/router/core/failover.h"

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/router/core/fixture_catalog.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using testing::FixtureCatalog;

// A plan calling openai/gpt-4o-mini, openai/gpt-4o, anthropic/claude-haiku-4-5 in that order.
struct Fixture {
  Catalog catalog = FixtureCatalog();
  RoutePlan plan;
  v1::RoutingDecision decision;

  Fixture() {
    plan.attempt_order = {catalog.FindModel("openai", "gpt-4o-mini"),
                          catalog.FindModel("openai", "gpt-4o"),
                          catalog.FindModel("anthropic", "claude-haiku-4-5")};
    plan.max_attempts = 4;
    plan.failover_enabled = true;
  }

  // Records an attempt on candidate `i`.
  void Attempt(size_t i, v1::AttemptOutcome outcome, int http_status = 0,
               int64_t retry_after_ms = 0) {
    v1::Attempt* a = decision.add_attempts();
    a->mutable_model()->set_provider(plan.attempt_order[i]->provider);
    a->mutable_model()->set_model(plan.attempt_order[i]->id);
    a->set_outcome(outcome);
    a->set_http_status(http_status);
    a->set_retry_after_ms(retry_after_ms);
  }

  FailoverStep Next(int64_t time_left_ms = kNoDeadline) const {
    return NextAttempt(plan, decision, time_left_ms);
  }
};

TEST_CASE("First attempt and success", "[unit]") {
  Fixture f;
  FailoverStep step = f.Next();
  CHECK(step.action == FailoverAction::kCall);
  CHECK(step.candidate == 0);
  CHECK(step.wait_ms == 0);
  CHECK(f.Next(0).action == FailoverAction::kStop);
  CHECK(ReasonOf(f.Next(0).status) == "deadline_exceeded");

  f.Attempt(0, v1::ATTEMPT_OUTCOME_SUCCESS, 200);
  CHECK(f.Next().action == FailoverAction::kDone);

  RoutePlan empty;
  FailoverStep none = NextAttempt(empty, {});
  CHECK(none.action == FailoverAction::kStop);
  CHECK(ReasonOf(none.status) == "no_candidate");
}

TEST_CASE("Retryable outcomes fail over, preferring another provider", "[unit]") {
  for (v1::AttemptOutcome outcome :
       {v1::ATTEMPT_OUTCOME_CONNECT_ERROR, v1::ATTEMPT_OUTCOME_SERVER_ERROR,
        v1::ATTEMPT_OUTCOME_TIMEOUT, v1::ATTEMPT_OUTCOME_INVALID_RESPONSE,
        v1::ATTEMPT_OUTCOME_RATE_LIMITED}) {
    INFO(v1::AttemptOutcome_Name(outcome));
    Fixture f;
    f.Attempt(0, outcome, 503);
    FailoverStep step = f.Next();
    REQUIRE(step.action == FailoverAction::kCall);
    CHECK(step.candidate == 2);  // openai just failed: anthropic before openai/gpt-4o
    f.Attempt(2, outcome, 503);
    step = f.Next();
    REQUIRE(step.action == FailoverAction::kCall);
    CHECK(step.candidate == 1);  // every provider failed once: next untried in order
    f.Attempt(1, outcome, 503);
    step = f.Next();
    CHECK(step.action == FailoverAction::kStop);  // nothing left
    CHECK_THAT(step.status, StatusIs(absl::StatusCode::kUnavailable, "all 3 provider attempt"));
    CHECK(ReasonOf(step.status) == "providers_unavailable");
  }
}

TEST_CASE("max_retries bounds the attempts; disabled failover stops at once", "[unit]") {
  Fixture f;
  f.plan.max_attempts = 2;  // one extra attempt
  f.Attempt(0, v1::ATTEMPT_OUTCOME_SERVER_ERROR, 500);
  REQUIRE(f.Next().action == FailoverAction::kCall);
  f.Attempt(2, v1::ATTEMPT_OUTCOME_SERVER_ERROR, 502);
  FailoverStep step = f.Next();
  CHECK(step.action == FailoverAction::kStop);
  CHECK(ReasonOf(step.status) == "providers_unavailable");
  CHECK(std::string(step.status.message()).find("anthropic/claude-haiku-4-5") != std::string::npos);

  Fixture off;
  off.plan.failover_enabled = false;
  off.plan.max_attempts = 1;
  off.Attempt(0, v1::ATTEMPT_OUTCOME_CONNECT_ERROR);
  step = off.Next();
  CHECK(step.action == FailoverAction::kStop);
  CHECK(step.status.code() == absl::StatusCode::kUnavailable);

  Fixture late;
  late.Attempt(0, v1::ATTEMPT_OUTCOME_TIMEOUT);
  step = late.Next(0);
  CHECK(step.action == FailoverAction::kStop);
  CHECK(step.status.code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("Non-retryable outcomes stop with their status", "[unit]") {
  struct Case {
    v1::AttemptOutcome outcome;
    absl::StatusCode code;
    const char* reason;
  };
  for (const Case& c : {
           Case{v1::ATTEMPT_OUTCOME_CLIENT_ERROR, absl::StatusCode::kInvalidArgument,
                "provider_rejected"},
           Case{v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED, absl::StatusCode::kUnavailable,
                "stream_interrupted"},
           Case{v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED, absl::StatusCode::kResourceExhausted,
                "budget_exhausted"},
           Case{v1::ATTEMPT_OUTCOME_CANCELLED, absl::StatusCode::kCancelled, "cancelled"},
       }) {
    INFO(c.reason);
    Fixture f;
    f.Attempt(0, c.outcome, 400);
    FailoverStep step = f.Next();
    CHECK(step.action == FailoverAction::kStop);
    CHECK(step.status.code() == c.code);
    CHECK(ReasonOf(step.status) == c.reason);
  }
}

TEST_CASE("429 follows the rate-limit strategy", "[unit]") {
  SECTION("fail returns RESOURCE_EXHAUSTED with Retry-After") {
    Fixture f;
    f.plan.rate_limit_strategy = v1::RATE_LIMIT_STRATEGY_FAIL;
    f.Attempt(0, v1::ATTEMPT_OUTCOME_RATE_LIMITED, 429, 2000);
    FailoverStep step = f.Next();
    CHECK(step.action == FailoverAction::kStop);
    CHECK(step.status.code() == absl::StatusCode::kResourceExhausted);
    CHECK(ReasonOf(step.status) == "rate_limited");
    CHECK(step.retry_after_ms == 2000);
  }
  SECTION("queue waits Retry-After and calls the same candidate") {
    Fixture f;
    f.plan.rate_limit_strategy = v1::RATE_LIMIT_STRATEGY_QUEUE;
    f.Attempt(0, v1::ATTEMPT_OUTCOME_RATE_LIMITED, 429, 1500);
    FailoverStep step = f.Next(10'000);
    CHECK(step.action == FailoverAction::kCall);
    CHECK(step.candidate == 0);
    CHECK(step.wait_ms == 1500);
    // Without Retry-After: the default wait.
    f.decision.mutable_attempts(0)->set_retry_after_ms(0);
    CHECK(f.Next().wait_ms == FailoverConfig{}.default_retry_after_ms);
    // A wait that does not fit in the time left, or is too long, stops.
    f.decision.mutable_attempts(0)->set_retry_after_ms(5000);
    step = f.Next(4000);
    CHECK(step.action == FailoverAction::kStop);
    CHECK(step.status.code() == absl::StatusCode::kResourceExhausted);
    CHECK(step.retry_after_ms == 5000);
    f.decision.mutable_attempts(0)->set_retry_after_ms(120'000);
    CHECK(f.Next().action == FailoverAction::kStop);
    // Queue retries count against max_attempts.
    f.decision.mutable_attempts(0)->set_retry_after_ms(100);
    f.plan.max_attempts = 1;
    CHECK(f.Next().action == FailoverAction::kStop);
  }
  SECTION("switch (and unspecified) fail over at once") {
    Fixture f;
    f.plan.rate_limit_strategy = v1::RATE_LIMIT_STRATEGY_SWITCH;
    f.Attempt(0, v1::ATTEMPT_OUTCOME_RATE_LIMITED, 429, 60'000);
    FailoverStep step = f.Next();
    CHECK(step.action == FailoverAction::kCall);
    CHECK(step.candidate == 2);
    CHECK(step.wait_ms == 0);
  }
}

TEST_CASE("Planner defaults feed the failover policy", "[unit]") {
  Catalog catalog = FixtureCatalog();
  testing::FakeHealth health;
  testing::FixedClock clock;
  v1::ChatRequest chat;
  chat.set_model("gpt-4o-mini");
  chat.add_messages()->set_role("user");
  v1::RoutingOptions options;
  options.set_rate_limit_strategy(v1::RATE_LIMIT_STRATEGY_UNSPECIFIED);
  auto plan = RoutePlanner(catalog, health, clock).Plan(chat, options, {}, 10);
  REQUIRE(plan.ok());
  CHECK(plan->rate_limit_strategy == v1::RATE_LIMIT_STRATEGY_SWITCH);
  CHECK(plan->max_attempts == 1 + kDefaultMaxRetries);
  options.mutable_failover()->set_enabled(true);
  options.mutable_failover()->set_max_retries(50);
  plan = RoutePlanner(catalog, health, clock).Plan(chat, options, {}, 10);
  REQUIRE(plan.ok());
  CHECK(plan->max_attempts == 1 + kMaxRetriesLimit);
}

TEST_CASE("HTTP status classification and Retry-After parsing", "[unit]") {
  CHECK(ClassifyHttpStatus(200) == v1::ATTEMPT_OUTCOME_SUCCESS);
  CHECK(ClassifyHttpStatus(429) == v1::ATTEMPT_OUTCOME_RATE_LIMITED);
  CHECK(ClassifyHttpStatus(408) == v1::ATTEMPT_OUTCOME_TIMEOUT);
  CHECK(ClassifyHttpStatus(500) == v1::ATTEMPT_OUTCOME_SERVER_ERROR);
  CHECK(ClassifyHttpStatus(529) == v1::ATTEMPT_OUTCOME_SERVER_ERROR);
  CHECK(ClassifyHttpStatus(400) == v1::ATTEMPT_OUTCOME_CLIENT_ERROR);
  CHECK(ClassifyHttpStatus(401) == v1::ATTEMPT_OUTCOME_CLIENT_ERROR);
  CHECK(ClassifyHttpStatus(0) == v1::ATTEMPT_OUTCOME_INVALID_RESPONSE);
  CHECK(ClassifyHttpStatus(302) == v1::ATTEMPT_OUTCOME_INVALID_RESPONSE);

  CHECK(ParseRetryAfterMs("2") == 2000);
  CHECK(ParseRetryAfterMs(" 1.5 ") == 1500);
  CHECK(ParseRetryAfterMs("250", /*is_ms=*/true) == 250);
  CHECK(ParseRetryAfterMs("99999999999") == 86'400'000);
  CHECK_FALSE(ParseRetryAfterMs("").has_value());
  CHECK_FALSE(ParseRetryAfterMs("-1").has_value());
  CHECK_FALSE(ParseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  CHECK_FALSE(ParseRetryAfterMs("1.2.3").has_value());
}

}  // namespace
}  // namespace p402::router
