// The BazaarStore contract (services/settlement/core/ports.h and memory_bazaar_store.h), run
// against InMemoryBazaarStore and PgBazaarStore alike.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "catch2/catch.hpp"
#include "google/protobuf/util/message_differencer.h"
#include "services/settlement/core/bazaar.h"
#include "tests/services/settlement/adapters/settlement_store_test_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::kClockStart;
using testing::MemoryEnv;
using testing::PgEnv;
using testing::RandomHex;
using testing::UniqueId;

// A listing as the core would store it; pay_to in mixed case (the core stores EIP-55).
v1::Listing NewListing(const std::string& tenant, const std::string& pay_to) {
  v1::Listing l;
  l.set_id("lst_" + RandomHex(8).substr(2));
  l.set_tenant_id(tenant);
  l.set_provider("acme");
  l.set_name("Acme search");
  l.set_description("Searches \"everything\", {quickly}, with a \\ backslash and 'quotes'.");
  l.add_capabilities("search");
  l.add_capabilities("chat");
  l.add_capabilities("with space,comma\"quote");  // the store keeps any text as is
  l.set_price_micro_usd(2'500);
  l.set_endpoint("https://acme.example/search");
  l.set_network("eip155:84532");
  l.set_asset("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  l.set_pay_to(pay_to);
  l.set_created_unix_ms(kClockStart);
  l.set_pricing_model("per-request");
  return l;
}

std::string MixedCaseAddress() {
  std::string a = RandomHex(20);
  for (size_t i = 2; i < a.size(); i += 2) a[i] = absl::ascii_toupper(a[i]);
  return a;
}

// Every listing of the store, through pages of `page_size`.
std::vector<v1::Listing> ListAll(BazaarStore& store, int page_size) {
  std::vector<v1::Listing> all;
  std::string token;
  for (int pages = 0; pages < 100'000; ++pages) {
    auto page = store.List(token, page_size);
    REQUIRE_THAT(page.status(), IsOk());
    REQUIRE(page->listings_size() <= page_size);
    all.insert(all.end(), page->listings().begin(), page->listings().end());
    if (page->next_page_token().empty()) return all;
    REQUIRE(page->listings_size() == page_size);
    token = page->next_page_token();
  }
  FAIL("List never ended");
  return all;
}

// The listings of `all` whose tenant is `tenant`, in the order found.
std::vector<v1::Listing> OfTenant(const std::vector<v1::Listing>& all, const std::string& tenant) {
  std::vector<v1::Listing> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [&](const v1::Listing& l) { return l.tenant_id() == tenant; });
  return out;
}

std::vector<v1::Listing> MustAll(BazaarStore& store) {
  auto all = store.All();
  REQUIRE_THAT(all.status(), IsOk());
  return *all;
}

bool Same(const v1::Listing& a, const v1::Listing& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEMPLATE_TEST_CASE("BazaarStore: Create stores every field", "[service][settlement]", MemoryEnv,
                   PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  v1::Listing l = NewListing(tenant, MixedCaseAddress());
  l.set_volume_micro_usd(0);
  REQUIRE_THAT(env.bazaar_a().Create(l), IsOk());

  v1::Listing want = l;
  want.set_reliability_bps(10'000);  // no outcomes yet
  const std::vector<v1::Listing> mine = OfTenant(MustAll(env.bazaar_b()), tenant);
  REQUIRE(mine.size() == 1);
  CHECK(Same(mine[0], want));
  INFO(mine[0].DebugString());

  // No capabilities at all is stored as none.
  v1::Listing bare = NewListing(tenant, MixedCaseAddress());
  bare.clear_capabilities();
  REQUIRE_THAT(env.bazaar_b().Create(bare), IsOk());
  const std::vector<v1::Listing> both = OfTenant(MustAll(env.bazaar_a()), tenant);
  REQUIRE(both.size() == 2);
  CHECK(both[1].capabilities_size() == 0);

  CHECK_THAT(env.bazaar_b().Create(l), StatusIs(absl::StatusCode::kAlreadyExists));
  v1::Listing no_id = l;
  no_id.clear_id();
  CHECK_THAT(env.bazaar_a().Create(no_id), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(OfTenant(MustAll(env.bazaar_a()), tenant).size() == 2);
}

TEMPLATE_TEST_CASE("BazaarStore: List pages in creation order", "[service][settlement]", MemoryEnv,
                   PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::Listing l = NewListing(tenant, MixedCaseAddress());
    // Creation order, not id or time order.
    l.set_created_unix_ms(kClockStart - i);
    ids.push_back(l.id());
    REQUIRE_THAT((i % 2 == 0 ? env.bazaar_a() : env.bazaar_b()).Create(l), IsOk());
  }
  auto ids_of = [](const std::vector<v1::Listing>& listings) {
    std::vector<std::string> out;
    for (const v1::Listing& l : listings) out.push_back(l.id());
    return out;
  };
  for (int page_size : {1, 2, 5, 1000}) {
    const std::vector<v1::Listing> all = ListAll(env.bazaar_a(), page_size);
    CHECK(ids_of(OfTenant(all, tenant)) == ids);
    // Each listing exactly once.
    std::vector<std::string> every = ids_of(all);
    std::sort(every.begin(), every.end());
    CHECK(std::adjacent_find(every.begin(), every.end()) == every.end());
  }
  CHECK(ids_of(OfTenant(MustAll(env.bazaar_b()), tenant)) == ids);

  if constexpr (!TestType::kShared) {
    auto p1 = env.bazaar_a().List("", 2);
    REQUIRE_THAT(p1.status(), IsOk());
    CHECK(p1->listings_size() == 2);
    auto p3 = env.bazaar_a().List("", 5);
    REQUIRE_THAT(p3.status(), IsOk());
    CHECK(p3->listings_size() == 5);
    CHECK(p3->next_page_token().empty());
  }
  for (const char* bad : {"x", "-3", "0", "12a"}) {
    CHECK_THAT(env.bazaar_a().List(bad, 2).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  CHECK_THAT(env.bazaar_a().List("", 0).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEMPLATE_TEST_CASE("BazaarStore: RecordOutcome counts per pay_to, ignoring case",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  const std::string pay_to = MixedCaseAddress();
  v1::Listing a = NewListing(tenant, pay_to);
  v1::Listing b = NewListing(tenant, pay_to);  // a second listing of the same seller
  v1::Listing other = NewListing(tenant, MixedCaseAddress());
  for (const v1::Listing& l : {a, b, other}) REQUIRE_THAT(env.bazaar_a().Create(l), IsOk());

  const std::string lower = absl::AsciiStrToLower(pay_to);
  for (int i = 0; i < 3; ++i) {
    REQUIRE_THAT(env.bazaar_b().RecordOutcome(lower, true, 1'000 * (i + 1)), IsOk());
  }
  REQUIRE_THAT(env.bazaar_a().RecordOutcome(pay_to, false, 0), IsOk());
  REQUIRE_THAT(env.bazaar_a().RecordOutcome(RandomHex(20), false, 0), IsOk());  // no listing
  CHECK_THAT(env.bazaar_a().RecordOutcome(pay_to, true, -1),
             StatusIs(absl::StatusCode::kInvalidArgument));

  const std::vector<v1::Listing> mine = OfTenant(MustAll(env.bazaar_b()), tenant);
  REQUIRE(mine.size() == 3);
  for (int i = 0; i < 2; ++i) {
    CHECK(mine[i].settled_count() == 3);
    CHECK(mine[i].failed_count() == 1);
    CHECK(mine[i].volume_micro_usd() == 6'000);  // 1,000 + 2,000 + 3,000; failures add nothing
    CHECK(mine[i].reliability_bps() == ReliabilityBps(3, 1));
    CHECK(mine[i].reliability_bps() < 10'000);
  }
  CHECK(mine[2].settled_count() == 0);
  CHECK(mine[2].failed_count() == 0);
  CHECK(mine[2].reliability_bps() == 10'000);

  // Concurrent outcomes from two processes are all counted.
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < kThreads; ++i) {
    BazaarStore& store = i % 2 == 0 ? env.bazaar_a() : env.bazaar_b();
    threads.emplace_back([&, i, &store = store] {
      if (!store.RecordOutcome(other.pay_to(), i % 4 != 0, 10).ok()) errors.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(errors.load() == 0);
  const std::vector<v1::Listing> after = OfTenant(MustAll(env.bazaar_a()), tenant);
  REQUIRE(after.size() == 3);
  CHECK(after[2].settled_count() == 12);
  CHECK(after[2].failed_count() == 4);
  CHECK(after[2].reliability_bps() == ReliabilityBps(12, 4));
  CHECK(after[2].volume_micro_usd() == 120);  // 12 settled x 10, no lost update
  CHECK(after[0].settled_count() == 3);
}

}  // namespace
}  // namespace p402::settlement
