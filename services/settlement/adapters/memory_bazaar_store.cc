#include "services/settlement/adapters/memory_bazaar_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "services/settlement/core/bazaar.h"

namespace p402::settlement {
namespace {

// The sequence number after which a page starts (0 for the first page).
absl::StatusOr<uint64_t> ParseToken(std::string_view token) {
  if (token.empty()) {
    return uint64_t{0};
  }
  uint64_t seq = 0;
  if (token.size() > 20 ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(token), &seq) || seq == 0) {
    return InvalidArgument("malformed page_token");
  }
  return seq;
}

v1::Listing WithReliability(v1::Listing listing) {
  listing.set_reliability_bps(ReliabilityBps(listing.settled_count(), listing.failed_count()));
  return listing;
}

}  // namespace

absl::Status InMemoryBazaarStore::Create(const v1::Listing& listing) {
  if (listing.id().empty()) {
    return InvalidArgument("listing needs an id");
  }
  absl::MutexLock lock(&mu_);
  if (by_id_.contains(listing.id())) {
    return AlreadyExists("listing already exists");
  }
  by_id_.emplace(listing.id(), listings_.size());
  listings_.push_back(listing);
  return absl::OkStatus();
}

absl::StatusOr<v1::ListListingsResponse> InMemoryBazaarStore::List(std::string_view page_token,
                                                                   int page_size) {
  if (page_size < 1 || page_size > kMaxPageSize) {
    return InvalidArgument("page_size must be 1.." + std::to_string(kMaxPageSize));
  }
  P402_ASSIGN_OR_RETURN(const uint64_t after_seq, ParseToken(page_token));
  v1::ListListingsResponse page;
  absl::MutexLock lock(&mu_);
  for (size_t i = after_seq; i < listings_.size(); ++i) {
    if (page.listings_size() == page_size) {
      page.set_next_page_token(std::to_string(i));  // seq of listing i - 1, the last returned
      break;
    }
    *page.add_listings() = WithReliability(listings_[i]);
  }
  return page;
}

absl::StatusOr<std::vector<v1::Listing>> InMemoryBazaarStore::All() {
  std::vector<v1::Listing> out;
  absl::MutexLock lock(&mu_);
  const size_t n = std::min(listings_.size(), static_cast<size_t>(kMaxListings));
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(WithReliability(listings_[i]));
  }
  return out;
}

absl::Status InMemoryBazaarStore::RecordOutcome(std::string_view pay_to, bool settled,
                                                int64_t amount_micro_usd) {
  if (amount_micro_usd < 0) return absl::InvalidArgumentError("amount_micro_usd is negative");
  absl::MutexLock lock(&mu_);
  for (v1::Listing& l : listings_) {
    if (absl::EqualsIgnoreCase(l.pay_to(), ToAbsl(pay_to))) {
      if (settled) {
        l.set_settled_count(l.settled_count() + 1);
        l.set_volume_micro_usd(l.volume_micro_usd() + amount_micro_usd);
      } else {
        l.set_failed_count(l.failed_count() + 1);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace p402::settlement
