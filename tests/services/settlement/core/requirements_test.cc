// Tests of BuildRequirements / BuildAmountRequirement / ModeName / ValidateTerms.
#include "services/settlement/core/requirements.h"

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/services/settlement/core/payment_fixture.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::StatusIs;

v1::GetPaymentRequirementsRequest Request(int version = 2) {
  v1::GetPaymentRequirementsRequest request;
  request.set_resource(testing::kResource);
  request.set_x402_version(version);
  auto add = [&](v1::RoutingMode mode, const char* provider, const char* model, int64_t cost) {
    v1::ModeCost* c = request.add_mode_costs();
    c->set_mode(mode);
    c->mutable_model()->set_provider(provider);
    c->mutable_model()->set_model(model);
    c->set_worst_case_micro_usd(cost);
  };
  add(v1::ROUTING_MODE_COST, "openai", "gpt-4o-mini", 1'000);
  add(v1::ROUTING_MODE_QUALITY, "anthropic", "claude-sonnet-4", 45'000);
  add(v1::ROUTING_MODE_SPEED, "groq", "llama-3.1-8b", 0);
  add(v1::ROUTING_MODE_BALANCED, "google", "gemini-2.0-flash", 1);
  return request;
}

TEST_CASE("ModeName", "[unit]") {
  CHECK(ModeName(v1::ROUTING_MODE_COST) == "cost");
  CHECK(ModeName(v1::ROUTING_MODE_QUALITY) == "quality");
  CHECK(ModeName(v1::ROUTING_MODE_SPEED) == "speed");
  CHECK(ModeName(v1::ROUTING_MODE_BALANCED) == "balanced");
  CHECK(ModeName(v1::ROUTING_MODE_CUSTOM) == "custom");
  CHECK(ModeName(v1::ROUTING_MODE_UNSPECIFIED).empty());
  CHECK(ModeName(static_cast<v1::RoutingMode>(99)).empty());
}

TEST_CASE("v2 offers: one per mode, in order, cost + fee, exact extra", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  auto built = BuildRequirements(terms, FeeSchedule::Default(), 0, Request());
  REQUIRE(built.ok());
  CHECK(built->x402_version() == 2);
  REQUIRE(built->accepts_size() == 4);
  const v1::PaymentRequirement& cost = built->accepts(0);
  CHECK(cost.scheme() == "exact");
  CHECK(cost.network() == "eip155:84532");
  CHECK(cost.amount() == "1020");
  CHECK(cost.asset() == testing::kSepoliaUsdc);
  CHECK(cost.pay_to() == testing::kPayTo);
  CHECK(cost.max_timeout_seconds() == 300);
  CHECK(cost.resource() == testing::kResource);
  CHECK(cost.mime_type() == "application/json");
  CHECK(cost.description() == "P402 chat completion (cost mode, openai/gpt-4o-mini)");
  CHECK(cost.extra_json() ==
        "{\"name\":\"USDC\",\"version\":\"2\",\"p402_mode\":\"cost\",\"p402_model\":"
        "\"openai/gpt-4o-mini\",\"p402_model_cost_micro_usd\":1000,\"p402_fee_micro_usd\":20}");
  CHECK(cost.mode() == v1::ROUTING_MODE_COST);
  CHECK(cost.model().model() == "gpt-4o-mini");
  CHECK(cost.model_cost_micro_usd() == 1'000);
  CHECK(cost.platform_fee_micro_usd() == 20);

  CHECK(built->accepts(1).amount() == "45900");
  CHECK(built->accepts(1).mode() == v1::ROUTING_MODE_QUALITY);
  // A free mode still costs one atomic unit (never a 0-value authorization), counted as fee.
  CHECK(built->accepts(2).amount() == "1");
  CHECK(built->accepts(2).model_cost_micro_usd() == 0);
  CHECK(built->accepts(2).platform_fee_micro_usd() == 1);
  // 1 micro-USD at 2% rounds the fee up to 1.
  CHECK(built->accepts(3).amount() == "2");
  for (const v1::PaymentRequirement& r : built->accepts()) {
    CHECK(std::stoll(r.amount()) == r.model_cost_micro_usd() + r.platform_fee_micro_usd());
    auto extra = json::Value::Parse(r.extra_json());
    REQUIRE(extra.ok());
    CHECK(extra->GetInt("p402_fee_micro_usd") == r.platform_fee_micro_usd());
  }
}

TEST_CASE("offers are deterministic and follow the fee tier", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  auto a = BuildRequirements(terms, FeeSchedule::Default(), 0, Request());
  auto b = BuildRequirements(terms, FeeSchedule::Default(), 0, Request());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->SerializeAsString() == b->SerializeAsString());
  auto volume = BuildRequirements(terms, FeeSchedule::Default(), 1'000'000'000, Request());
  REQUIRE(volume.ok());
  CHECK(volume->accepts(0).amount() == "1010");  // 1% tier
  auto flat = BuildRequirements(terms, FeeSchedule::Flat(0), 0, Request());
  REQUIRE(flat.ok());
  CHECK(flat->accepts(0).amount() == "1000");
}

TEST_CASE("v1 offers use the network name; version 0 means 2", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  auto v1 = BuildRequirements(terms, FeeSchedule::Default(), 0, Request(1));
  REQUIRE(v1.ok());
  CHECK(v1->x402_version() == 1);
  CHECK(v1->accepts(0).network() == "base-sepolia");
  auto v0 = BuildRequirements(terms, FeeSchedule::Default(), 0, Request(0));
  REQUIRE(v0.ok());
  CHECK(v0->x402_version() == 2);
  CHECK(v0->accepts(0).network() == "eip155:84532");
}

TEST_CASE("offers stay ASCII", "[unit]") {
  v1::GetPaymentRequirementsRequest request = Request();
  request.set_description("caf\xc3\xa9 \xe2\x82\xac");
  request.mutable_mode_costs(0)->mutable_model()->set_model(
      "m\xc3\xb6"
      "del");
  auto built = BuildRequirements(testing::SepoliaTerms(), FeeSchedule::Default(), 0, request);
  REQUIRE(built.ok());
  for (const v1::PaymentRequirement& r : built->accepts()) {
    for (unsigned char c : r.description() + r.extra_json()) CHECK(c < 0x80);
  }
  CHECK(built->accepts(0).description() == "caf?? ???");
}

TEST_CASE("bad requests are InvalidArgument naming the problem", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  auto build = [&](const v1::GetPaymentRequirementsRequest& r, const PaymentTerms& t) {
    return BuildRequirements(t, FeeSchedule::Default(), 0, r).status();
  };
  v1::GetPaymentRequirementsRequest empty = Request();
  empty.clear_mode_costs();
  CHECK_THAT(build(empty, terms), StatusIs(absl::StatusCode::kInvalidArgument, "mode_costs"));
  v1::GetPaymentRequirementsRequest negative = Request();
  negative.mutable_mode_costs(1)->set_worst_case_micro_usd(-1);
  CHECK_THAT(build(negative, terms),
             StatusIs(absl::StatusCode::kInvalidArgument, "mode_costs[1].worst_case_micro_usd"));
  v1::GetPaymentRequirementsRequest no_mode = Request();
  no_mode.mutable_mode_costs(2)->set_mode(v1::ROUTING_MODE_UNSPECIFIED);
  CHECK_THAT(build(no_mode, terms),
             StatusIs(absl::StatusCode::kInvalidArgument, "mode_costs[2].mode"));
  CHECK_THAT(build(Request(3), terms),
             StatusIs(absl::StatusCode::kInvalidArgument, "x402_version"));
  for (const char* resource :
       {"", "not a url", "ftp://x/y", "https://", "https:///path", "https://host/with space"}) {
    v1::GetPaymentRequirementsRequest r = Request();
    r.set_resource(resource);
    INFO(resource);
    CHECK_THAT(build(r, terms), StatusIs(absl::StatusCode::kInvalidArgument, "resource"));
  }
  PaymentTerms local = terms;
  local.chain_id = 31337;
  CHECK_THAT(build(Request(1), local), StatusIs(absl::StatusCode::kInvalidArgument, "version 1"));
  CHECK(build(Request(2), local).ok());  // v2 pays on any eip155 chain
  v1::GetPaymentRequirementsRequest huge = Request();
  huge.mutable_mode_costs(0)->set_worst_case_micro_usd(INT64_MAX);
  CHECK_THAT(build(huge, terms), StatusIs(absl::StatusCode::kInvalidArgument, "too large"));
}

TEST_CASE("amount offers for top-ups", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  auto offer = BuildAmountRequirement(terms, 5'000'000, 2, "https://api.p402.test/v2/topup", "");
  REQUIRE(offer.ok());
  CHECK(offer->amount() == "5000000");
  CHECK(offer->network() == "eip155:84532");
  CHECK(offer->extra_json() == "{\"name\":\"USDC\",\"version\":\"2\"}");
  CHECK(offer->mode() == v1::ROUTING_MODE_UNSPECIFIED);
  CHECK(offer->platform_fee_micro_usd() == 0);
  CHECK(offer->description() == "P402 prepaid top-up");
  auto v1 = BuildAmountRequirement(terms, 7, 1, "https://api.p402.test/v2/topup", "Top-up");
  REQUIRE(v1.ok());
  CHECK(v1->network() == "base-sepolia");
  CHECK(v1->description() == "Top-up");
  CHECK_THAT(BuildAmountRequirement(terms, 0, 2, "https://x.test/", "").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "amount"));
  CHECK_THAT(BuildAmountRequirement(terms, 5, 4, "https://x.test/", "").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "x402_version"));
  CHECK_THAT(BuildAmountRequirement(terms, 5, 2, "/v2/topup", "").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "resource"));
}

TEST_CASE("top_up requests build one fee-free amount offer", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  v1::GetPaymentRequirementsRequest request;
  request.set_resource("https://api.p402.test/v2/topup");
  request.set_top_up(true);
  request.add_mode_costs()->set_worst_case_micro_usd(5'000'000);
  auto built = BuildRequirements(terms, FeeSchedule::Default(), 0, request);
  REQUIRE(built.ok());
  REQUIRE(built->accepts_size() == 1);
  CHECK(built->accepts(0).amount() == "5000000");  // no 2% fee on a top-up
  CHECK(built->accepts(0).platform_fee_micro_usd() == 0);
  CHECK(built->accepts(0).extra_json() == "{\"name\":\"USDC\",\"version\":\"2\"}");
  request.add_mode_costs()->set_worst_case_micro_usd(1);
  CHECK_THAT(BuildRequirements(terms, FeeSchedule::Default(), 0, request).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "exactly one"));
}

TEST_CASE("ValidateTerms", "[unit]") {
  CHECK(ValidateTerms(testing::SepoliaTerms()).ok());
  auto broken = [](auto edit) {
    PaymentTerms terms = testing::SepoliaTerms();
    edit(terms);
    return ValidateTerms(terms);
  };
  using Code = absl::StatusCode;
  CHECK_THAT(broken([](PaymentTerms& t) { t.chain_id = 0; }),
             StatusIs(Code::kInvalidArgument, "chain_id"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.asset = {}; }),
             StatusIs(Code::kInvalidArgument, "asset"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.pay_to = {}; }),
             StatusIs(Code::kInvalidArgument, "pay_to"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.asset_decimals = 18; }),
             StatusIs(Code::kInvalidArgument, "decimals"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.asset_name.clear(); }),
             StatusIs(Code::kInvalidArgument, "asset_name"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.max_timeout_seconds = 0; }),
             StatusIs(Code::kInvalidArgument, "max_timeout_seconds"));
  CHECK_THAT(broken([](PaymentTerms& t) { t.receipt_timeout = std::chrono::milliseconds(0); }),
             StatusIs(Code::kInvalidArgument, "receipt_timeout"));
  CHECK_THAT(
      broken([](PaymentTerms& t) { t.receipt_poll_interval = std::chrono::milliseconds(-1); }),
      StatusIs(Code::kInvalidArgument, "receipt_poll_interval"));
}

}  // namespace
}  // namespace p402::settlement
