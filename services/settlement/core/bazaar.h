// File: services/settlement/core/bazaar.h
// Bazaar rules (settlement.proto CreateListing / ListListings / DiscoverListings): listing
// validation, ids, discovery filters and ranking, reliability from settlement outcomes. Pure
// logic over a BazaarStore; thread-safe when the store is.
//
// Ranking of DiscoverListings: reliability_bps descending, then price ascending, then settled
// volume descending, then id (a total order: equal inputs give equal pages).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "p402/v1/settlement.pb.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

// reliability_bps of settled / failed counts (10000 when both are 0).
int32_t ReliabilityBps(int64_t settled, int64_t failed);

class Bazaar {
 public:
  Bazaar(BazaarStore& store, const Clock& clock) : store_(store), clock_(clock) {}
  // InvalidArgument naming the field (settlement.proto Listing limits; endpoint must be an
  // http(s) URL; network a CAIP-2 eip155 id or a known v1 name; asset/pay_to 0x addresses;
  // pricing_model one of the three; price >= 0; tenant_id required). Assigns "lst_" + 16 random
  // hex, created_unix_ms, reliability 10000, zero metrics; addresses stored EIP-55.
  absl::StatusOr<v1::Listing> Create(const v1::CreateListingRequest& request);
  absl::StatusOr<v1::ListListingsResponse> List(const v1::ListListingsRequest& request);
  absl::StatusOr<v1::ListListingsResponse> Discover(const v1::DiscoverListingsRequest& request);

 private:
  BazaarStore& store_;
  const Clock& clock_;
};

}  // namespace p402::settlement
