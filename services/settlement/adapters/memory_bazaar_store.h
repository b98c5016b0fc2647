// File: services/settlement/adapters/memory_bazaar_store.h
// InMemoryBazaarStore: the BazaarStore (core/ports.h) of a single settlement process, the embedded
// default and the tests' store. Semantics beyond ports.h, shared with PgBazaarStore through the
// contract test (tests/services/settlement/adapters/bazaar_store_contract_test.cc):
//   - Create: InvalidArgument for an empty id, AlreadyExists for an id already stored. The stored
//     settled/failed counts start from the listing's; reliability_bps is never stored but derived
//     from the counts on every read (core/bazaar.h ReliabilityBps).
//   - List: creation order; page_size 1..kMaxPageSize (InvalidArgument otherwise); page tokens are
//     the decimal sequence number of the last listing returned (InvalidArgument when malformed).
//   - All: the first kMaxListings listings in creation order.
//   - RecordOutcome: every listing whose pay_to equals `pay_to` ignoring ASCII case; none is fine.
// Thread-safe; never blocks on I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class InMemoryBazaarStore final : public BazaarStore {
 public:
  static constexpr int kMaxPageSize = 1000;
  static constexpr int kMaxListings = 10'000;

  InMemoryBazaarStore() = default;
  InMemoryBazaarStore(const InMemoryBazaarStore&) = delete;
  InMemoryBazaarStore& operator=(const InMemoryBazaarStore&) = delete;

  absl::Status Create(const v1::Listing& listing) override;
  absl::StatusOr<v1::ListListingsResponse> List(std::string_view page_token,
                                                int page_size) override;
  absl::StatusOr<std::vector<v1::Listing>> All() override;
  absl::Status RecordOutcome(std::string_view pay_to, bool settled,
                             int64_t amount_micro_usd) override;

 private:
  absl::Mutex mu_;
  // Creation order; a listing's sequence number is its index + 1.
  std::vector<v1::Listing> listings_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> by_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::settlement
