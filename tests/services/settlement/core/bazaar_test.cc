// Tests of Bazaar: listing validation (messages name the field), ids and defaults, paging,
// discovery filters and ranking, reliability from settlement outcomes.
#include "services/settlement/core/bazaar.h"

#include <set>

#include "catch2/catch.hpp"
#include "services/settlement/adapters/memory_bazaar_store.h"
#include "tests/services/settlement/core/fake_clock.h"
#include "tests/services/settlement/core/payment_fixture.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::StatusIs;

v1::CreateListingRequest Listing(const std::string& name, int64_t price,
                                 std::vector<std::string> capabilities = {"chat"},
                                 const std::string& pay_to = testing::kPayTo) {
  v1::CreateListingRequest request;
  request.set_tenant_id("seller-1");
  v1::Listing* l = request.mutable_listing();
  l->set_provider("acme");
  l->set_name(name);
  l->set_description("A paid service");
  for (const std::string& c : capabilities) l->add_capabilities(c);
  l->set_price_micro_usd(price);
  l->set_endpoint("https://acme.test/api");
  l->set_network("eip155:84532");
  l->set_asset(evm::ToLowerHex(testing::Addr(testing::kSepoliaUsdc)));
  l->set_pay_to(pay_to);
  // Ignored on create:
  l->set_id("lst_mine");
  l->set_settled_count(99);
  l->set_reliability_bps(1);
  return request;
}

struct BazaarEnv {
  testing::FakeClock clock;
  InMemoryBazaarStore store;
  Bazaar bazaar{store, clock};
};

TEST_CASE("ReliabilityBps", "[unit]") {
  CHECK(ReliabilityBps(0, 0) == 10'000);
  CHECK(ReliabilityBps(1, 0) == 10'000);
  CHECK(ReliabilityBps(0, 5) == 0);
  CHECK(ReliabilityBps(3, 1) == 7'500);
  CHECK(ReliabilityBps(2, 1) == 6'666);  // floor
  CHECK(ReliabilityBps(INT64_MAX, INT64_MAX) == 5'000);
  CHECK(ReliabilityBps(-4, -4) == 10'000);
}

TEST_CASE("Create assigns id, time, defaults and EIP-55 addresses", "[unit]") {
  BazaarEnv env;
  auto created = env.bazaar.Create(Listing("search", 1'500));
  REQUIRE(created.ok());
  CHECK(created->id().rfind("lst_", 0) == 0);
  CHECK(created->id().size() == 4 + 16);
  CHECK(created->id() != "lst_mine");
  CHECK(created->created_unix_ms() == env.clock.NowMillis());
  CHECK(created->reliability_bps() == 10'000);
  CHECK(created->settled_count() == 0);
  CHECK(created->failed_count() == 0);
  CHECK(created->volume_micro_usd() == 0);
  CHECK(created->pricing_model() == "per-request");
  CHECK(created->tenant_id() == "seller-1");
  CHECK(created->asset() == testing::kSepoliaUsdc);
  CHECK(created->pay_to() == testing::kPayTo);
  auto listed = env.bazaar.List(v1::ListListingsRequest());
  REQUIRE(listed.ok());
  REQUIRE(listed->listings_size() == 1);
  CHECK(listed->listings(0).id() == created->id());
  auto other = env.bazaar.Create(Listing("search", 1'500));
  REQUIRE(other.ok());
  CHECK(other->id() != created->id());
}

TEST_CASE("Create rejects invalid listings naming the field", "[unit]") {
  BazaarEnv env;
  auto rejected = [&](auto edit, const std::string& field) {
    v1::CreateListingRequest request = Listing("x", 1);
    edit(request);
    INFO(field);
    CHECK_THAT(env.bazaar.Create(request).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, field));
  };
  using R = v1::CreateListingRequest;
  rejected([](R& r) { r.clear_tenant_id(); }, "tenant_id");
  rejected([](R& r) { r.mutable_listing()->clear_provider(); }, "listing.provider");
  rejected([](R& r) { r.mutable_listing()->set_provider(std::string(65, 'p')); },
           "listing.provider");
  rejected([](R& r) { r.mutable_listing()->clear_name(); }, "listing.name");
  rejected([](R& r) { r.mutable_listing()->set_name(std::string(129, 'n')); }, "listing.name");
  rejected([](R& r) { r.mutable_listing()->set_description(std::string(2001, 'd')); },
           "listing.description");
  rejected([](R& r) { r.mutable_listing()->clear_capabilities(); }, "listing.capabilities");
  rejected(
      [](R& r) {
        for (int i = 0; i < 32; ++i) r.mutable_listing()->add_capabilities("c" + std::to_string(i));
      },
      "listing.capabilities");
  rejected([](R& r) { r.mutable_listing()->add_capabilities("Chat"); }, "listing.capabilities[1]");
  rejected([](R& r) { r.mutable_listing()->add_capabilities(""); }, "listing.capabilities[1]");
  rejected([](R& r) { r.mutable_listing()->add_capabilities(std::string(65, 'a')); },
           "listing.capabilities[1]");
  rejected([](R& r) { r.mutable_listing()->set_price_micro_usd(-1); }, "listing.price_micro_usd");
  for (const char* endpoint : {"", "ftp://x.test/", "acme.test/api", "https://", "https://a b/"}) {
    rejected([&](R& r) { r.mutable_listing()->set_endpoint(endpoint); }, "listing.endpoint");
  }
  for (const char* network : {"", "eip155:", "eip155:0", "solana", "Base"}) {
    rejected([&](R& r) { r.mutable_listing()->set_network(network); }, "listing.network");
  }
  rejected([](R& r) { r.mutable_listing()->set_asset("0x1234"); }, "listing.asset");
  rejected([](R& r) { r.mutable_listing()->set_pay_to("not an address"); }, "listing.pay_to");
  rejected([](R& r) { r.mutable_listing()->set_pricing_model("per-byte"); },
           "listing.pricing_model");
  auto all = env.store.All();
  REQUIRE(all.ok());
  CHECK(all->empty());

  // The edges of the limits are fine.
  v1::CreateListingRequest edge = Listing(std::string(128, 'n'), 0);
  edge.mutable_listing()->set_provider(std::string(64, 'p'));
  edge.mutable_listing()->set_description(std::string(2000, 'd'));
  edge.mutable_listing()->set_network("base");
  edge.mutable_listing()->set_pricing_model("per-minute");
  edge.mutable_listing()->add_capabilities("a_b-9");
  CHECK(env.bazaar.Create(edge).ok());
}

TEST_CASE("List pages in creation order", "[unit]") {
  BazaarEnv env;
  for (int i = 0; i < 5; ++i) REQUIRE(env.bazaar.Create(Listing("s" + std::to_string(i), i)).ok());
  v1::ListListingsRequest request;
  request.set_page_size(2);
  std::vector<std::string> names;
  for (int page = 0; page < 5; ++page) {
    auto listed = env.bazaar.List(request);
    REQUIRE(listed.ok());
    for (const v1::Listing& l : listed->listings()) names.push_back(l.name());
    if (listed->next_page_token().empty()) break;
    request.set_page_token(listed->next_page_token());
  }
  CHECK(names == std::vector<std::string>{"s0", "s1", "s2", "s3", "s4"});
  request.set_page_size(501);
  CHECK_THAT(env.bazaar.List(request).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "page_size"));
}

TEST_CASE("Discover filters and ranks: reliability, price, volume, id", "[unit]") {
  BazaarEnv env;
  const std::string payer_a = "0x" + std::string(40, 'a');
  const std::string payer_b = "0x" + std::string(40, 'b');
  const std::string payer_c = "0x" + std::string(40, 'c');
  auto cheap_flaky = env.bazaar.Create(Listing("cheap-flaky", 100, {"chat"}, payer_a));
  auto pricey = env.bazaar.Create(Listing("pricey", 900, {"chat", "search"}, payer_b));
  auto mid = env.bazaar.Create(Listing("mid", 500, {"chat"}, payer_c));
  auto embed = env.bazaar.Create(Listing("embed", 50, {"embeddings"}, payer_c));
  REQUIRE((cheap_flaky.ok() && pricey.ok() && mid.ok() && embed.ok()));
  // cheap-flaky: 1 of 2 settled -> 5000 bps; the others stay at 10000.
  REQUIRE(env.store.RecordOutcome(payer_a, true, 10'000).ok());
  REQUIRE(env.store.RecordOutcome(payer_a, false, 0).ok());
  // Upper-case pay_to in the outcome still counts (lowercase compare).
  REQUIRE(env.store.RecordOutcome("0x" + std::string(40, 'B'), true, 5).ok());

  auto names = [&](const v1::DiscoverListingsRequest& request) {
    auto found = env.bazaar.Discover(request);
    REQUIRE(found.ok());
    std::vector<std::string> out;
    for (const v1::Listing& l : found->listings()) out.push_back(l.name());
    return out;
  };
  v1::DiscoverListingsRequest request;
  request.set_capability("chat");
  CHECK(names(request) == std::vector<std::string>{"mid", "pricey", "cheap-flaky"});
  request.set_capability("CHAT");
  CHECK(names(request).size() == 3);
  request.set_max_price_micro_usd(600);
  CHECK(names(request) == std::vector<std::string>{"mid", "cheap-flaky"});
  request.set_min_reliability_bps(9'000);
  CHECK(names(request) == std::vector<std::string>{"mid"});
  v1::DiscoverListingsRequest any;
  CHECK(names(any) == std::vector<std::string>{"embed", "mid", "pricey", "cheap-flaky"});
  any.set_limit(2);
  CHECK(names(any) == std::vector<std::string>{"embed", "mid"});
  auto found = env.bazaar.Discover(any);
  REQUIRE(found.ok());
  CHECK(found->listings(0).reliability_bps() == 10'000);
  v1::DiscoverListingsRequest flaky;
  flaky.set_capability("chat");
  flaky.set_max_price_micro_usd(100);
  auto flaky_found = env.bazaar.Discover(flaky);
  REQUIRE(flaky_found.ok());
  REQUIRE(flaky_found->listings_size() == 1);
  CHECK(flaky_found->listings(0).reliability_bps() == 5'000);
  v1::DiscoverListingsRequest none;
  none.set_capability("video");
  CHECK(names(none).empty());

  // Equal reliability and price: the higher volume first, then the id.
  BazaarEnv tie;
  auto x = tie.bazaar.Create(Listing("x", 10));
  auto y = tie.bazaar.Create(Listing("y", 10));
  REQUIRE((x.ok() && y.ok()));
  auto tied = tie.bazaar.Discover(v1::DiscoverListingsRequest());
  REQUIRE(tied.ok());
  REQUIRE(tied->listings_size() == 2);
  CHECK(tied->listings(0).id() < tied->listings(1).id());

  v1::DiscoverListingsRequest bad;
  bad.set_limit(101);
  CHECK_THAT(env.bazaar.Discover(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "limit"));
  bad.set_limit(0);
  bad.set_max_price_micro_usd(-1);
  CHECK_THAT(env.bazaar.Discover(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "max_price"));
  bad.set_max_price_micro_usd(0);
  bad.set_min_reliability_bps(10'001);
  CHECK_THAT(env.bazaar.Discover(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "min_reliability_bps"));
}

}  // namespace
}  // namespace p402::settlement
