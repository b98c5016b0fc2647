// File: services/edge/core/payment_json.h
// The JSON of the edge's payments API (docs/PAYMENTS_API.md) <-> p402.v1 settlement protos: the
// prepaid top-up body, the balance/usage/Bazaar queries and bodies, and the objects returned.
// Pure functions over libs/json, no I/O. The x402 wire shapes themselves (requirements, 402
// answers, facilitator bodies) are libs/x402/codec.h's.
//
// Parsers follow the management API's conventions (management_json.h): InvalidArgument with a
// reason payload (invalid_json, invalid_type, invalid_value, missing_required_parameter,
// unknown_parameter) and the `param` payload naming the field; a JSON null counts as absent; an
// empty body reads as {}; unknown members and unknown query parameters are refused. They leave
// tenant_id empty: the caller fills it from the authenticated key.
//
// Encoders: money as exact decimal strings with 6 decimals ("5.000000"), times as Unix seconds,
// an "object" member naming the kind.
//
// Thread-safety: all functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "p402/v1/settlement.pb.h"
#include "services/edge/core/management_json.h"

namespace p402::edge {

// Largest single top-up, micro-USD (1,000,000 USD): a typo guard, not a business limit.
inline constexpr MicroUsd kMaxTopUpMicroUsd = 1'000'000LL * kMicrosPerUsd;

// POST /v2/topup: {"amount_usd": "5.00"} (decimal string or number, <= 6 decimals) or
// {"amount_micro_usd": 5000000} (integer) -- exactly one of them, > 0 and <= kMaxTopUpMicroUsd --
// and "session_id"? (the agent session to credit; empty/absent = the tenant's own balance).
struct TopUpBody {
  MicroUsd amount_micro_usd = 0;
  std::string session_id;
};
absl::StatusOr<TopUpBody> ParseTopUpBody(std::string_view body);

// A session id as the policy service hands them out: [A-Za-z0-9_.-]{1,128}.
bool IsPlausibleSessionId(std::string_view id);

// GET /v2/balance: session_id?.
absl::StatusOr<v1::GetBalanceRequest> ParseBalanceQuery(const QueryParams& query);
// GET /v2/usage: page_size? (1..1000), page_token?, session_id?.
absl::StatusOr<v1::ListUsageRequest> ParseUsageQuery(const QueryParams& query);
// GET /v2/bazaar/discover: capability?, max_price_usd? (decimal USD), min_reliability? (decimal
// 0..1, at most 4 decimals -> basis points), limit? (1..100).
absl::StatusOr<v1::DiscoverListingsRequest> ParseDiscoverQuery(const QueryParams& query);
// GET /v2/bazaar/listings: page_size? (1..500), page_token?.
absl::StatusOr<v1::ListListingsRequest> ParseListingsQuery(const QueryParams& query);
// POST /v2/bazaar/listings: {"provider", "name", "description"?, "capabilities": [..],
// "price_usd", "endpoint", "network", "asset", "pay_to", "pricing_model"?}. Shape only (types,
// lengths); the settlement service validates the values (tags, URL, addresses, network).
absl::StatusOr<v1::Listing> ParseListingBody(std::string_view body);

// ---- Responses ----

// {"object":"balance","session_id":null|id,"balance_usd","total_topped_up_usd",
// "total_spent_usd"}.
json::Value BalanceJson(const v1::GetBalanceResponse& balance, std::string_view session_id);
// One ledger entry: {"object":"ledger_entry","id","kind","request_id","session_id","model",
// "usage","cost_usd","platform_fee_usd","amount_usd" (signed balance change),
// "balance_before_usd","balance_after_usd","transaction","created_at"}.
json::Value UsageEntryJson(const v1::UsageEntry& entry);
// {"object":"list","data":[entries],"has_more","next_page_token":null|token}.
json::Value UsageListJson(const v1::ListUsageResponse& usage);
// {"object":"topup","credited_usd","balance_usd","session_id","transaction","network","payer",
// "duplicate","entry_id"}.
json::Value TopUpJson(const v1::TopUpResponse& topup, std::string_view session_id);
// {"id","object":"bazaar_listing","provider","name","description","capabilities","price_usd",
// "pricing_model","endpoint","network","asset","pay_to","settled_count","failed_count",
// "reliability" (0..1 number),"reliability_bps","volume_usd","created_at"}.
json::Value ListingJson(const v1::Listing& listing);
// {"object":"list","data":[listings]} plus, with `paged`, "has_more" and "next_page_token".
json::Value ListingListJson(const v1::ListListingsResponse& listings, bool paged);

// Facilitator API failure bodies (400 answers the reference facilitator gives for a body it
// cannot read): {"isValid":false,"invalidReason":reason,"invalidMessage":message} and
// {"success":false,"errorReason":reason,"errorMessage":message,"transaction":"","network":""}.
std::string FacilitatorVerifyError(std::string_view reason, std::string_view message);
std::string FacilitatorSettleError(std::string_view reason, std::string_view message);

}  // namespace p402::edge
