#include "services/policy/core/session_rules.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

constexpr MicroUsd kUsd = 1'000'000;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// Unix ms of a UTC wall-clock time.
int64_t Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone()));
}

const int64_t kNow = Utc(2025, 1, 15, 12);

v1::CreateSessionRequest ValidCreate() {
  v1::CreateSessionRequest req;
  req.set_tenant_id("acme");
  req.set_agent_id("research-bot");
  req.set_budget_micro_usd(10 * kUsd);
  req.set_duration_ms(3'600'000);
  return req;
}

SessionRecord Session() {
  SessionRecord s;
  s.id = "sess_0123456789abcdef";
  s.tenant_id = "acme";
  s.agent_id = "research-bot";
  s.budget_micro_usd = 10 * kUsd;
  s.created_unix_ms = kNow - 60'000;
  s.expires_unix_ms = kNow + 3'600'000;
  return s;
}

SessionRequestFacts Facts(MicroUsd worst_case = kUsd, int64_t now = kNow) {
  SessionRequestFacts f;
  f.worst_case_micro_usd = worst_case;
  f.now_unix_ms = now;
  return f;
}

SessionRecord WithHours(int start, int end, std::string zone) {
  SessionRecord s = Session();
  s.has_allowed_hours = true;
  s.allowed_start_hour = start;
  s.allowed_end_hour = end;
  s.allowed_time_zone = std::move(zone);
  s.expires_unix_ms = Utc(2026, 1, 1, 0);  // the hour tests probe times all over 2025
  return s;
}

// ---------------------------------------------------------------------------------------------
// Validation.

TEST_CASE("ValidateCreateSession accepts a minimal and a full request", "[unit][sessions]") {
  CHECK_THAT(ValidateCreateSession(ValidCreate()), IsOk());
  v1::CreateSessionRequest full = ValidCreate();
  full.set_wallet("0xAbCdEf0123456789abcdef0123456789ABCDEF01");
  full.set_per_request_cap_micro_usd(kUsd);
  full.set_require_approval_above_micro_usd(2 * kUsd);
  (*full.mutable_provider_budgets_micro_usd())["openai"] = 5 * kUsd;
  (*full.mutable_provider_budgets_micro_usd())["together.ai"] = 1;
  full.add_allowed_providers("openai");
  full.add_allowed_providers("groq");
  full.add_allowed_capabilities("chat");
  full.add_allowed_capabilities("embeddings");
  full.mutable_allowed_hours()->set_start_hour(22);
  full.mutable_allowed_hours()->set_end_hour(6);
  full.mutable_allowed_hours()->set_time_zone("America/New_York");
  CHECK_THAT(ValidateCreateSession(full), IsOk());
}

TEST_CASE("ValidateCreateSession: agent_id", "[unit][sessions]") {
  auto req = ValidCreate();
  req.set_agent_id("");
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "agent_id is required"));
  req.set_agent_id(std::string(129, 'a'));
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "agent_id must be at most 128 bytes"));
  req.set_agent_id(std::string(128, 'a'));
  CHECK_THAT(ValidateCreateSession(req), IsOk());
  req.set_agent_id("bot\nname");
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "agent_id must not contain control characters"));
}

TEST_CASE("ValidateCreateSession: wallet", "[unit][sessions]") {
  auto req = ValidCreate();
  const std::string hex40 = "0123456789abcdef0123456789abcdef01234567";
  for (const std::string& bad : {hex40, "0x" + hex40.substr(1), "0x" + hex40 + "8",
                                 "0x" + hex40.substr(1) + "g", "1x" + hex40, std::string("0x")}) {
    INFO(bad);
    req.set_wallet(bad);
    CHECK_THAT(ValidateCreateSession(req),
               StatusIs(kInvalid, "wallet must be 0x followed by 40 hex digits"));
  }
  req.set_wallet("0x" + hex40);
  CHECK_THAT(ValidateCreateSession(req), IsOk());
  req.set_wallet("");
  CHECK_THAT(ValidateCreateSession(req), IsOk());
}

TEST_CASE("ValidateCreateSession: amounts", "[unit][sessions]") {
  auto req = ValidCreate();
  req.set_budget_micro_usd(0);
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "budget_micro_usd must be > 0"));
  req.set_budget_micro_usd(-5);
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "budget_micro_usd must be > 0"));
  req.set_budget_micro_usd(1);
  CHECK_THAT(ValidateCreateSession(req), IsOk());

  req = ValidCreate();
  req.set_per_request_cap_micro_usd(-1);
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "per_request_cap_micro_usd must be >= 0"));
  req = ValidCreate();
  req.set_require_approval_above_micro_usd(-1);
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "require_approval_above_micro_usd must be >= 0"));
}

TEST_CASE("ValidateCreateSession: provider budgets", "[unit][sessions]") {
  auto req = ValidCreate();
  (*req.mutable_provider_budgets_micro_usd())["openai"] = 0;
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "provider_budgets_micro_usd[\"openai\"] must be > 0"));
  (*req.mutable_provider_budgets_micro_usd())["openai"] = -1;
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "provider_budgets_micro_usd"));

  for (const std::string& bad_key :
       {std::string("OpenAI"), std::string(""), std::string(65, 'a'), std::string("open ai")}) {
    INFO(bad_key);
    req = ValidCreate();
    (*req.mutable_provider_budgets_micro_usd())[bad_key] = kUsd;
    CHECK_THAT(ValidateCreateSession(req),
               StatusIs(kInvalid, "provider_budgets_micro_usd keys must be provider ids"));
  }

  req = ValidCreate();
  for (int i = 0; i < 65; ++i) {
    (*req.mutable_provider_budgets_micro_usd())["p" + std::to_string(i)] = kUsd;
  }
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "provider_budgets_micro_usd must have at most 64 entries"));
  req.mutable_provider_budgets_micro_usd()->erase("p0");
  CHECK_THAT(ValidateCreateSession(req), IsOk());
}

TEST_CASE("ValidateCreateSession: allowed providers and capabilities", "[unit][sessions]") {
  auto req = ValidCreate();
  req.add_allowed_providers("openai");
  req.add_allowed_providers("Anthropic");
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "allowed_providers[1] must be a provider id"));
  req.set_allowed_providers(1, "openai");
  CHECK_THAT(ValidateCreateSession(req), StatusIs(kInvalid, "allowed_providers[1] repeats"));
  req.set_allowed_providers(1, "anthropic");
  CHECK_THAT(ValidateCreateSession(req), IsOk());

  req = ValidCreate();
  for (int i = 0; i < 65; ++i) {
    req.add_allowed_providers("p" + std::to_string(i));
  }
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "allowed_providers must have at most 64 entries"));

  req = ValidCreate();
  req.add_allowed_capabilities("chat");
  req.add_allowed_capabilities("images");
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "allowed_capabilities[1] must be \"chat\" or \"embeddings\""));
  req = ValidCreate();
  for (int i = 0; i < 65; ++i) {
    req.add_allowed_capabilities("chat");
  }
  CHECK_THAT(ValidateCreateSession(req),
             StatusIs(kInvalid, "allowed_capabilities must have at most 64 entries"));
}

TEST_CASE("ValidateCreateSession: allowed hours", "[unit][sessions]") {
  auto with = [](int start, int end, std::string zone) {
    auto req = ValidCreate();
    req.mutable_allowed_hours()->set_start_hour(start);
    req.mutable_allowed_hours()->set_end_hour(end);
    req.mutable_allowed_hours()->set_time_zone(std::move(zone));
    return ValidateCreateSession(req);
  };
  CHECK_THAT(with(9, 17, "America/New_York"), IsOk());
  CHECK_THAT(with(0, 24, ""), IsOk());
  CHECK_THAT(with(23, 0, "UTC"), IsOk());
  CHECK_THAT(with(22, 6, "Europe/Berlin"), IsOk());
  CHECK_THAT(with(-1, 6, ""),
             StatusIs(kInvalid, "allowed_hours.start_hour must be between 0 and 23"));
  CHECK_THAT(with(24, 6, ""),
             StatusIs(kInvalid, "allowed_hours.start_hour must be between 0 and 23"));
  CHECK_THAT(with(9, -1, ""),
             StatusIs(kInvalid, "allowed_hours.end_hour must be between 0 and 24"));
  CHECK_THAT(with(9, 25, ""),
             StatusIs(kInvalid, "allowed_hours.end_hour must be between 0 and 24"));
  CHECK_THAT(with(9, 9, ""), StatusIs(kInvalid, "allowed_hours.end_hour must differ"));
  for (const char* zone : {"Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "localtime",
                           "America/New York", "Europe/Berlin\n"}) {
    INFO(zone);
    CHECK_THAT(with(9, 17, zone),
               StatusIs(kInvalid, "allowed_hours.time_zone is not a known time zone"));
  }
  // An unset allowed_hours is not validated at all (0 -> 0 would otherwise be refused).
  CHECK_THAT(ValidateCreateSession(ValidCreate()), IsOk());
}

TEST_CASE("ValidateCreateSession: duration", "[unit][sessions]") {
  auto req = ValidCreate();
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{59'999}, int64_t{2'592'000'001}}) {
    INFO(bad);
    req.set_duration_ms(bad);
    CHECK_THAT(ValidateCreateSession(req),
               StatusIs(kInvalid, "duration_ms must be between 60000 and 2592000000"));
  }
  req.set_duration_ms(60'000);
  CHECK_THAT(ValidateCreateSession(req), IsOk());
  req.set_duration_ms(2'592'000'000);
  CHECK_THAT(ValidateCreateSession(req), IsOk());
}

TEST_CASE("ValidateUpdateSession", "[unit][sessions]") {
  v1::UpdateSessionRequest req;
  req.set_tenant_id("acme");
  req.set_session_id("sess_0123456789abcdef");
  CHECK_THAT(ValidateUpdateSession(req), IsOk());  // nothing to change is fine

  auto bad = req;
  bad.set_top_up_micro_usd(-1);
  CHECK_THAT(ValidateUpdateSession(bad), StatusIs(kInvalid, "top_up_micro_usd must be >= 0"));
  for (int64_t ms : {int64_t{-1}, int64_t{59'999}, int64_t{2'592'000'001}}) {
    INFO(ms);
    bad = req;
    bad.set_extend_ms(ms);
    CHECK_THAT(
        ValidateUpdateSession(bad),
        StatusIs(kInvalid, "extend_ms must be 0 (unchanged) or between 60000 and 2592000000"));
  }
  bad = req;
  bad.set_per_request_cap_micro_usd(-1);
  CHECK_THAT(ValidateUpdateSession(bad),
             StatusIs(kInvalid, "per_request_cap_micro_usd must be >= 0"));
  bad = req;
  bad.set_require_approval_above_micro_usd(-1);
  CHECK_THAT(ValidateUpdateSession(bad),
             StatusIs(kInvalid, "require_approval_above_micro_usd must be >= 0"));

  auto good = req;
  good.set_top_up_micro_usd(5 * kUsd);
  good.set_extend_ms(60'000);
  good.set_per_request_cap_micro_usd(0);
  good.set_require_approval_above_micro_usd(0);
  CHECK_THAT(ValidateUpdateSession(good), IsOk());
  good.set_extend_ms(2'592'000'000);
  CHECK_THAT(ValidateUpdateSession(good), IsOk());
}

// ---------------------------------------------------------------------------------------------
// Allowed hours.

TEST_CASE("WithinAllowedHours: no window means any time", "[unit][sessions]") {
  SessionRecord s = Session();
  for (int h = 0; h < 24; ++h) {
    CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, h, 30)));
  }
}

TEST_CASE("WithinAllowedHours: 9-17 in America/New_York follows DST", "[unit][sessions]") {
  SessionRecord s = WithHours(9, 17, "America/New_York");
  // Winter (EST, UTC-5): 09:00 local is 14:00 UTC.
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 3, 8, 13, 59)));
  CHECK(WithinAllowedHours(s, Utc(2025, 3, 8, 14, 0)));
  CHECK(WithinAllowedHours(s, Utc(2025, 3, 8, 21, 59)));
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 3, 8, 22, 0)));  // 17:00 EST: end is exclusive
  // DST began on 2025-03-09 (EDT, UTC-4): 09:00 local is now 13:00 UTC. A fixed UTC-5 offset
  // would get both of these wrong.
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 3, 10, 12, 59)));
  CHECK(WithinAllowedHours(s, Utc(2025, 3, 10, 13, 0)));
  CHECK(WithinAllowedHours(s, Utc(2025, 3, 10, 20, 59)));
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 3, 10, 21, 0)));
  // And back on 2025-11-02.
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 11, 3, 13, 30)));
  CHECK(WithinAllowedHours(s, Utc(2025, 11, 3, 14, 0)));
}

TEST_CASE("WithinAllowedHours: a window wrapping midnight (22 -> 6)", "[unit][sessions]") {
  SessionRecord s = WithHours(22, 6, "America/New_York");
  // January: EST, UTC-5.
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 2, 59)));  // 21:59
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 3, 0)));         // 22:00
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 5, 0)));         // 00:00
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 10, 59)));       // 05:59
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 11, 0)));  // 06:00
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 17, 0)));  // 12:00
  // July: EDT, UTC-4.
  CHECK(WithinAllowedHours(s, Utc(2025, 7, 15, 2, 0)));         // 22:00
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 7, 15, 1, 59)));  // 21:59
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 7, 15, 10, 0)));  // 06:00
}

TEST_CASE("WithinAllowedHours: end hour 24 means up to midnight", "[unit][sessions]") {
  SessionRecord s = WithHours(18, 24, "UTC");
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 17, 59)));
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 18, 0)));
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 23, 59)));
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 16, 0, 0)));

  SessionRecord all_day = WithHours(0, 24, "Asia/Tokyo");
  for (int h = 0; h < 24; ++h) {
    CHECK(WithinAllowedHours(all_day, Utc(2025, 1, 15, h, 0)));
  }
}

TEST_CASE("WithinAllowedHours: empty or unloadable zone counts as UTC", "[unit][sessions]") {
  for (const char* zone : {"", "Not/AZone"}) {
    INFO(zone);
    SessionRecord s = WithHours(9, 17, zone);
    CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 8, 59)));
    CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 9, 0)));
    CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 17, 0)));
  }
}

TEST_CASE("WithinAllowedHours: a non-UTC zone east of Greenwich", "[unit][sessions]") {
  SessionRecord s = WithHours(9, 17, "Asia/Kolkata");            // UTC+5:30, no DST
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 3, 29)));   // 08:59
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 3, 30)));         // 09:00
  CHECK(WithinAllowedHours(s, Utc(2025, 1, 15, 11, 29)));        // 16:59
  CHECK_FALSE(WithinAllowedHours(s, Utc(2025, 1, 15, 11, 30)));  // 17:00
}

// ---------------------------------------------------------------------------------------------
// CheckSession.

TEST_CASE("CheckSession admits a request on an active session", "[unit][sessions]") {
  SessionVerdict v = CheckSession(Session(), Facts());
  CHECK_FALSE(v.denied);
  CHECK(v.decision == v1::GUARD_DECISION_ALLOW);
  CHECK(v.code.empty());
  CHECK_FALSE(v.needs_approval);
  CHECK_FALSE(v.per_request_cap_micro_usd.has_value());
  CHECK(v.allowed_providers.empty());
  CHECK(v.denied_providers.empty());
}

TEST_CASE("CheckSession: revoked and expired sessions", "[unit][sessions]") {
  SessionRecord revoked = Session();
  revoked.revoked_unix_ms = kNow - 1;
  SessionRecord expired = Session();
  expired.expires_unix_ms = kNow;  // expires at now: already expired

  auto via = [](bool token) {
    SessionRequestFacts f = Facts();
    f.via_token = token;
    return f;
  };
  SECTION("via the session token: the credential no longer authenticates") {
    SessionVerdict r = CheckSession(revoked, via(true));
    CHECK(r.denied);
    CHECK(r.decision == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    CHECK(r.code == "session_revoked");
    SessionVerdict e = CheckSession(expired, via(true));
    CHECK(e.denied);
    CHECK(e.decision == v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    CHECK(e.code == "session_expired");
  }
  SECTION("via p402.session_id with a tenant key: a policy denial") {
    SessionVerdict r = CheckSession(revoked, via(false));
    CHECK(r.decision == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(r.code == "session_revoked");
    CHECK_FALSE(r.message.empty());
    SessionVerdict e = CheckSession(expired, via(false));
    CHECK(e.decision == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(e.code == "session_expired");
  }
  SECTION("revoked wins over expired, expired over exhausted") {
    SessionRecord both = revoked;
    both.expires_unix_ms = kNow - 10;
    CHECK(CheckSession(both, via(false)).code == "session_revoked");
    SessionRecord spent_and_expired = expired;
    spent_and_expired.spent_micro_usd = spent_and_expired.budget_micro_usd;
    CHECK(CheckSession(spent_and_expired, via(false)).code == "session_expired");
  }
  SECTION("one millisecond before expiry it still works") {
    CHECK_FALSE(CheckSession(expired, Facts(kUsd, kNow - 1)).denied);
  }
}

TEST_CASE("CheckSession: exhausted session", "[unit][sessions]") {
  SessionRecord s = Session();
  s.spent_micro_usd = 7 * kUsd;
  s.reserved_micro_usd = 3 * kUsd;  // budget - spent - reserved == 0
  for (bool token : {true, false}) {
    SessionRequestFacts f = Facts();
    f.via_token = token;
    SessionVerdict v = CheckSession(s, f);
    CHECK(v.denied);
    CHECK(v.decision == v1::GUARD_DECISION_DENY_BUDGET);
    CHECK(v.code == "session_budget_exhausted");
  }
  s.reserved_micro_usd = 3 * kUsd - 1;  // one micro-dollar left: the reservation decides the rest
  CHECK_FALSE(CheckSession(s, Facts(5 * kUsd)).denied);
}

TEST_CASE("CheckSession: outside allowed hours", "[unit][sessions]") {
  SessionRecord s = WithHours(9, 17, "America/New_York");
  SessionVerdict v = CheckSession(s, Facts(kUsd, Utc(2025, 1, 15, 13, 59)));  // 08:59 EST
  CHECK(v.denied);
  CHECK(v.decision == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(v.code == "outside_allowed_hours");
  CHECK(v.message.find("America/New_York") != std::string::npos);
  CHECK_FALSE(CheckSession(s, Facts(kUsd, Utc(2025, 1, 15, 14, 0))).denied);
}

TEST_CASE("CheckSession: capabilities", "[unit][sessions]") {
  SessionRecord chat_only = Session();
  chat_only.allowed_capabilities = {"chat"};
  SessionRequestFacts embeddings = Facts();
  embeddings.capability = "embeddings";
  SessionVerdict v = CheckSession(chat_only, embeddings);
  CHECK(v.denied);
  CHECK(v.decision == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(v.code == "capability_not_allowed");
  CHECK_FALSE(CheckSession(chat_only, Facts()).denied);  // empty capability = "chat"

  SessionRecord embeddings_only = Session();
  embeddings_only.allowed_capabilities = {"embeddings"};
  CHECK(CheckSession(embeddings_only, Facts()).code == "capability_not_allowed");
  CHECK_FALSE(CheckSession(embeddings_only, embeddings).denied);

  CHECK_FALSE(CheckSession(Session(), embeddings).denied);  // no list = any capability
}

TEST_CASE("CheckSession: allowed providers", "[unit][sessions]") {
  SessionRecord s = Session();
  s.allowed_providers = {"openai", "groq"};
  SessionRequestFacts f = Facts();
  f.model_provider = "anthropic";
  SessionVerdict v = CheckSession(s, f);
  CHECK(v.denied);
  CHECK(v.decision == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(v.code == "provider_not_allowed");

  f.model_provider = "groq";
  v = CheckSession(s, f);
  CHECK_FALSE(v.denied);
  CHECK(v.allowed_providers == std::vector<std::string>{"openai", "groq"});

  // Routed by mode (no explicit model): admitted, the list restricts routing instead.
  v = CheckSession(s, Facts());
  CHECK_FALSE(v.denied);
  CHECK(v.allowed_providers == std::vector<std::string>{"openai", "groq"});
}

TEST_CASE("CheckSession: provider sub-budgets", "[unit][sessions]") {
  SessionRecord s = Session();
  s.provider_budgets_micro_usd = {{"openai", 5 * kUsd}, {"groq", 2 * kUsd}, {"mistral", kUsd}};
  s.provider_spent_micro_usd = {{"openai", 4 * kUsd}, {"groq", 2 * kUsd}};
  s.spent_micro_usd = 6 * kUsd;

  SECTION("providers whose remainder is below the worst case are denied for routing") {
    SessionVerdict v = CheckSession(s, Facts(kUsd));
    CHECK_FALSE(v.denied);
    // openai has exactly 1 USD left (enough), groq nothing, mistral (no spend yet) its full 1.
    CHECK(v.denied_providers == std::vector<std::string>{"groq"});
    v = CheckSession(s, Facts(kUsd + 1));
    CHECK(v.denied_providers == std::vector<std::string>{"groq", "mistral", "openai"});
  }
  SECTION("a provider with nothing left is denied even for a zero estimate") {
    SessionVerdict v = CheckSession(s, Facts(0));
    CHECK(v.denied_providers == std::vector<std::string>{"groq"});
  }
  SECTION("an explicit model on a spent provider is refused") {
    SessionRequestFacts f = Facts(2 * kUsd);
    f.model_provider = "openai";
    SessionVerdict v = CheckSession(s, f);
    CHECK(v.denied);
    CHECK(v.decision == v1::GUARD_DECISION_DENY_POLICY);
    CHECK(v.code == "provider_not_allowed");
    f.worst_case_micro_usd = kUsd;
    CHECK_FALSE(CheckSession(s, f).denied);
    f.model_provider = "anthropic";  // no sub-budget: only the total applies
    f.worst_case_micro_usd = 4 * kUsd;
    CHECK_FALSE(CheckSession(s, f).denied);
  }
}

TEST_CASE("CheckSession: per-request cap is returned", "[unit][sessions]") {
  SessionRecord s = Session();
  CHECK_FALSE(CheckSession(s, Facts()).per_request_cap_micro_usd.has_value());
  s.per_request_cap_micro_usd = 3 * kUsd;
  SessionVerdict v = CheckSession(s, Facts(5 * kUsd));
  CHECK_FALSE(v.denied);  // the cap joins layer 5, which does the refusing
  REQUIRE(v.per_request_cap_micro_usd.has_value());
  CHECK(*v.per_request_cap_micro_usd == 3 * kUsd);
}

TEST_CASE("CheckSession: approval threshold", "[unit][sessions]") {
  SessionRecord s = Session();
  CHECK_FALSE(CheckSession(s, Facts(9 * kUsd)).needs_approval);  // 0 = never
  s.require_approval_above_micro_usd = 2 * kUsd;
  CHECK_FALSE(CheckSession(s, Facts(2 * kUsd)).needs_approval);  // at the threshold: fine
  SessionVerdict v = CheckSession(s, Facts(2 * kUsd + 1));
  CHECK(v.needs_approval);
  CHECK_FALSE(v.denied);
  CHECK(v.decision == v1::GUARD_DECISION_ALLOW);

  // A refusal takes precedence: nothing to approve.
  s.revoked_unix_ms = kNow;
  v = CheckSession(s, Facts(5 * kUsd));
  CHECK(v.denied);
  CHECK_FALSE(v.needs_approval);
}

TEST_CASE("CheckSession: checks run in the documented order", "[unit][sessions]") {
  SessionRecord s = WithHours(9, 17, "UTC");
  s.allowed_capabilities = {"chat"};
  s.allowed_providers = {"openai"};
  s.spent_micro_usd = s.budget_micro_usd;
  SessionRequestFacts f = Facts(kUsd, Utc(2025, 1, 15, 20));
  f.capability = "embeddings";
  f.model_provider = "anthropic";
  CHECK(CheckSession(s, f).code == "session_budget_exhausted");
  s.spent_micro_usd = 0;
  CHECK(CheckSession(s, f).code == "outside_allowed_hours");
  f.now_unix_ms = Utc(2025, 1, 15, 10);
  CHECK(CheckSession(s, f).code == "capability_not_allowed");
  f.capability = "chat";
  CHECK(CheckSession(s, f).code == "provider_not_allowed");
  f.model_provider = "openai";
  CHECK_FALSE(CheckSession(s, f).denied);
}

}  // namespace
}  // namespace p402::policy
