// File: services/settlement/core/bazaar.cc
// Bazaar: listing validation, ids, discovery filters and ranking.
#include "services/settlement/core/bazaar.h"

#include <algorithm>
#include <string>
#include <vector>

#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/evm/address.h"
#include "libs/x402/network.h"

namespace p402::settlement {
namespace {

constexpr char kPerRequest[] = "per-request";

absl::Status CheckLength(std::string_view field, std::string_view value, size_t min, size_t max) {
  if (value.size() < min || value.size() > max) {
    return InvalidArgument("listing." + std::string(field) + " must be " + std::to_string(min) +
                           ".." + std::to_string(max) + " characters");
  }
  return absl::OkStatus();
}

bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else {
    return false;
  }
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.front() == ':' || url.size() > 2048) return false;
  return std::all_of(url.begin(), url.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool IsCapability(std::string_view tag) {
  return !tag.empty() && tag.size() <= 64 && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// The stored counts decide; the stored reliability_bps may lag behind them.
void Refresh(v1::Listing& listing) {
  listing.set_reliability_bps(ReliabilityBps(listing.settled_count(), listing.failed_count()));
}

}  // namespace

int32_t ReliabilityBps(int64_t settled, int64_t failed) {
  settled = std::max<int64_t>(settled, 0);
  failed = std::max<int64_t>(failed, 0);
  if (settled == 0 && failed == 0) return 10'000;
  const __int128 total = static_cast<__int128>(settled) + failed;
  return static_cast<int32_t>(static_cast<__int128>(settled) * 10'000 / total);
}

absl::StatusOr<v1::Listing> Bazaar::Create(const v1::CreateListingRequest& request) {
  if (request.tenant_id().empty()) return InvalidArgument("tenant_id is required");
  const v1::Listing& in = request.listing();
  if (absl::Status s = CheckLength("provider", in.provider(), 1, 64); !s.ok()) return s;
  if (absl::Status s = CheckLength("name", in.name(), 1, 128); !s.ok()) return s;
  if (absl::Status s = CheckLength("description", in.description(), 0, 2000); !s.ok()) return s;
  if (in.capabilities().empty() || in.capabilities_size() > 32) {
    return InvalidArgument("listing.capabilities must have 1..32 tags");
  }
  for (int i = 0; i < in.capabilities_size(); ++i) {
    if (!IsCapability(in.capabilities(i))) {
      return InvalidArgument("listing.capabilities[" + std::to_string(i) +
                             "] must be 1..64 characters of [a-z0-9_-]");
    }
  }
  if (in.price_micro_usd() < 0) return InvalidArgument("listing.price_micro_usd must be >= 0");
  if (!IsHttpUrl(in.endpoint())) {
    return InvalidArgument("listing.endpoint must be an http(s) URL");
  }
  if (!x402::ParseCaip2(in.network()).ok() && !x402::ChainIdOfV1Name(in.network()).has_value()) {
    return InvalidArgument("listing.network must be a CAIP-2 eip155 id or a known x402 v1 name");
  }
  absl::StatusOr<evm::Address> asset = evm::ParseAddress(in.asset());
  if (!asset.ok()) return InvalidArgument("listing.asset must be a 0x address");
  absl::StatusOr<evm::Address> pay_to = evm::ParseAddress(in.pay_to());
  if (!pay_to.ok()) return InvalidArgument("listing.pay_to must be a 0x address");
  std::string pricing = in.pricing_model().empty() ? kPerRequest : in.pricing_model();
  if (pricing != kPerRequest && pricing != "per-token" && pricing != "per-minute") {
    return InvalidArgument("listing.pricing_model must be per-request, per-token or per-minute");
  }

  v1::Listing listing;
  listing.set_id("lst_" + crypto::HexEncode(crypto::RandomBytes(8)));
  listing.set_provider(in.provider());
  listing.set_name(in.name());
  listing.set_description(in.description());
  *listing.mutable_capabilities() = in.capabilities();
  listing.set_price_micro_usd(in.price_micro_usd());
  listing.set_endpoint(in.endpoint());
  listing.set_network(in.network());
  listing.set_asset(evm::ToChecksum(*asset));
  listing.set_pay_to(evm::ToChecksum(*pay_to));
  listing.set_reliability_bps(10'000);
  listing.set_created_unix_ms(UnixMillis(clock_.Now()));
  listing.set_tenant_id(request.tenant_id());
  listing.set_pricing_model(pricing);
  absl::Status stored = store_.Create(listing);
  if (!stored.ok()) return stored;
  return listing;
}

absl::StatusOr<v1::ListListingsResponse> Bazaar::List(const v1::ListListingsRequest& request) {
  const int page_size = request.page_size() == 0 ? 100 : request.page_size();
  if (page_size < 1 || page_size > 500) return InvalidArgument("page_size must be 1..500");
  absl::StatusOr<v1::ListListingsResponse> page = store_.List(request.page_token(), page_size);
  if (!page.ok()) return page.status();
  for (v1::Listing& listing : *page->mutable_listings()) Refresh(listing);
  return page;
}

absl::StatusOr<v1::ListListingsResponse> Bazaar::Discover(
    const v1::DiscoverListingsRequest& request) {
  const int limit = request.limit() == 0 ? 20 : request.limit();
  if (limit < 1 || limit > 100) return InvalidArgument("limit must be 1..100");
  if (request.max_price_micro_usd() < 0) {
    return InvalidArgument("max_price_micro_usd must be >= 0");
  }
  if (request.min_reliability_bps() < 0 || request.min_reliability_bps() > 10'000) {
    return InvalidArgument("min_reliability_bps must be 0..10000");
  }
  std::string capability = request.capability();
  std::transform(capability.begin(), capability.end(), capability.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  absl::StatusOr<std::vector<v1::Listing>> all = store_.All();
  if (!all.ok()) return all.status();
  std::vector<v1::Listing> hits;
  for (v1::Listing& listing : *all) {
    Refresh(listing);
    if (!capability.empty() &&
        std::find(listing.capabilities().begin(), listing.capabilities().end(), capability) ==
            listing.capabilities().end()) {
      continue;
    }
    if (request.max_price_micro_usd() > 0 &&
        listing.price_micro_usd() > request.max_price_micro_usd()) {
      continue;
    }
    if (listing.reliability_bps() < request.min_reliability_bps()) continue;
    hits.push_back(std::move(listing));
  }
  std::sort(hits.begin(), hits.end(), [](const v1::Listing& a, const v1::Listing& b) {
    if (a.reliability_bps() != b.reliability_bps())
      return a.reliability_bps() > b.reliability_bps();
    if (a.price_micro_usd() != b.price_micro_usd())
      return a.price_micro_usd() < b.price_micro_usd();
    if (a.volume_micro_usd() != b.volume_micro_usd()) {
      return a.volume_micro_usd() > b.volume_micro_usd();
    }
    return a.id() < b.id();
  });
  if (hits.size() > static_cast<size_t>(limit)) hits.resize(limit);
  v1::ListListingsResponse response;
  for (v1::Listing& listing : hits) *response.add_listings() = std::move(listing);
  return response;
}

}  // namespace p402::settlement
