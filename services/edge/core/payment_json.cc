// Payments API JSON: top-up body, balance/usage/Bazaar queries and bodies -> p402.v1 settlement
// requests; settlement responses -> the objects of docs/PAYMENTS_API.md.
#include "services/edge/core/payment_json.h"

#include "libs/common/status_macros.h"
#include "services/edge/core/management_json_fields.h"

namespace p402::edge {

using mgmt_json::BadValue;
using mgmt_json::Fields;
using mgmt_json::ReadInt;
using mgmt_json::ReadString;
using mgmt_json::ReadStrings;

namespace {

constexpr int64_t kMaxUsagePage = 1000;
constexpr int64_t kMaxListingsPage = 500;
constexpr int64_t kMaxDiscoverLimit = 100;
constexpr size_t kMaxTokenBytes = 1024;

json::Value Usd(MicroUsd micros) { return json::Value(FormatUsd(micros)); }
json::Value OrNull(const std::string& s) { return s.empty() ? json::Value() : json::Value(s); }
json::Value Seconds(int64_t unix_ms) { return json::Value(unix_ms / 1000); }

absl::Status CheckSessionId(std::string_view id, std::string_view param) {
  if (!IsPlausibleSessionId(id)) {
    return BadValue(param, "is not a session id (1-128 characters of [A-Za-z0-9_.-]).");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PageToken(const std::string& value, std::string_view param) {
  if (value.size() > kMaxTokenBytes) {
    return BadValue(param, "is not a page token returned by this API.");
  }
  return value;
}

json::Value ModelName(const v1::ModelRef& model) {
  if (model.model().empty()) return json::Value();
  if (model.provider().empty()) return json::Value(model.model());
  return json::Value(model.provider() + "/" + model.model());
}

}  // namespace

bool IsPlausibleSessionId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

// ---- Requests ----

absl::StatusOr<TopUpBody> ParseTopUpBody(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(Fields f,
                        Fields::Open(root, "", {"amount_usd", "amount_micro_usd", "session_id"}));
  TopUpBody out;
  const json::Value* usd = f.Get("amount_usd");
  const json::Value* micro = f.Get("amount_micro_usd");
  if (usd != nullptr && micro != nullptr) {
    return BadValue("amount_micro_usd",
                    "give either 'amount_usd' or 'amount_micro_usd', not both.");
  }
  if (usd != nullptr) {
    P402_ASSIGN_OR_RETURN(out.amount_micro_usd, ParseUsdJson(*usd, "amount_usd"));
  } else if (micro != nullptr) {
    P402_ASSIGN_OR_RETURN(out.amount_micro_usd,
                          ReadInt(*micro, "amount_micro_usd", 0, kMaxTopUpMicroUsd));
  } else {
    return mgmt_json::Missing("amount_usd");
  }
  std::string_view param = usd != nullptr ? "amount_usd" : "amount_micro_usd";
  if (out.amount_micro_usd <= 0) {
    return BadValue(param, "must be > 0.");
  }
  if (out.amount_micro_usd > kMaxTopUpMicroUsd) {
    return BadValue(param, "must be at most 1000000 USD per top-up.");
  }
  if (const json::Value* s = f.Get("session_id")) {
    P402_ASSIGN_OR_RETURN(out.session_id, ReadString(*s, "session_id", 128, /*allow_empty=*/true));
    if (!out.session_id.empty()) {
      P402_RETURN_IF_ERROR(CheckSessionId(out.session_id, "session_id"));
    }
  }
  return out;
}

absl::StatusOr<v1::GetBalanceRequest> ParseBalanceQuery(const QueryParams& query) {
  v1::GetBalanceRequest req;
  for (const auto& [key, value] : query) {
    if (key != "session_id") return mgmt_json::UnknownParam(key);
    if (value.empty()) continue;
    P402_RETURN_IF_ERROR(CheckSessionId(value, "session_id"));
    req.set_session_id(value);
  }
  return req;
}

absl::StatusOr<v1::ListUsageRequest> ParseUsageQuery(const QueryParams& query) {
  v1::ListUsageRequest req;
  for (const auto& [key, value] : query) {
    if (key != "page_size" && key != "page_token" && key != "session_id") {
      return mgmt_json::UnknownParam(key);
    }
    if (value.empty()) continue;  // "?session_id=" reads as absent
    if (key == "page_size") {
      P402_ASSIGN_OR_RETURN(int64_t n,
                            mgmt_json::ReadQueryInt(value, "page_size", 1, kMaxUsagePage));
      req.set_page_size(static_cast<int32_t>(n));
    } else if (key == "page_token") {
      P402_ASSIGN_OR_RETURN(*req.mutable_page_token(), PageToken(value, "page_token"));
    } else {
      P402_RETURN_IF_ERROR(CheckSessionId(value, "session_id"));
      req.set_session_id(value);
    }
  }
  return req;
}

absl::StatusOr<v1::DiscoverListingsRequest> ParseDiscoverQuery(const QueryParams& query) {
  v1::DiscoverListingsRequest req;
  for (const auto& [key, value] : query) {
    if (key != "capability" && key != "max_price_usd" && key != "min_reliability" &&
        key != "limit") {
      return mgmt_json::UnknownParam(key);
    }
    if (value.empty()) continue;
    if (key == "capability") {
      if (value.size() > 64) return BadValue("capability", "is longer than 64 characters.");
      req.set_capability(value);
    } else if (key == "max_price_usd") {
      P402_ASSIGN_OR_RETURN(MicroUsd max, ParseUsdJson(json::Value(value), "max_price_usd"));
      req.set_max_price_micro_usd(max);
    } else if (key == "min_reliability") {
      // Basis points: "0.995" -> 9950; more than 4 decimals or above 1 is invalid_value.
      P402_ASSIGN_OR_RETURN(int64_t bps,
                            mgmt_json::ReadScaled(json::Value(value), "min_reliability", 4, 10000));
      req.set_min_reliability_bps(static_cast<int32_t>(bps));
    } else {
      P402_ASSIGN_OR_RETURN(int64_t n,
                            mgmt_json::ReadQueryInt(value, "limit", 1, kMaxDiscoverLimit));
      req.set_limit(static_cast<int32_t>(n));
    }
  }
  return req;
}

absl::StatusOr<v1::ListListingsRequest> ParseListingsQuery(const QueryParams& query) {
  v1::ListListingsRequest req;
  for (const auto& [key, value] : query) {
    if (key != "page_size" && key != "page_token") return mgmt_json::UnknownParam(key);
    if (value.empty()) continue;
    if (key == "page_size") {
      P402_ASSIGN_OR_RETURN(int64_t n,
                            mgmt_json::ReadQueryInt(value, "page_size", 1, kMaxListingsPage));
      req.set_page_size(static_cast<int32_t>(n));
    } else {
      P402_ASSIGN_OR_RETURN(*req.mutable_page_token(), PageToken(value, "page_token"));
    }
  }
  return req;
}

absl::StatusOr<v1::Listing> ParseListingBody(std::string_view body) {
  P402_ASSIGN_OR_RETURN(json::Value root, mgmt_json::ParseBodyObject(body));
  P402_ASSIGN_OR_RETURN(
      Fields f, Fields::Open(root, "",
                             {"provider", "name", "description", "capabilities", "price_usd",
                              "endpoint", "network", "asset", "pay_to", "pricing_model"}));
  v1::Listing listing;
  // Required strings, with the proto's length bounds (the service re-checks the values).
  struct Text {
    std::string_view key;
    size_t max_bytes;
    std::string* out;
  };
  const Text required[] = {
      {"provider", 64, listing.mutable_provider()},   {"name", 128, listing.mutable_name()},
      {"endpoint", 2048, listing.mutable_endpoint()}, {"network", 64, listing.mutable_network()},
      {"asset", 64, listing.mutable_asset()},         {"pay_to", 64, listing.mutable_pay_to()}};
  for (const Text& t : required) {
    P402_ASSIGN_OR_RETURN(const json::Value* v, f.Require(t.key));
    P402_ASSIGN_OR_RETURN(*t.out, ReadString(*v, f.Param(t.key), t.max_bytes));
  }
  if (const json::Value* v = f.Get("description")) {
    P402_ASSIGN_OR_RETURN(*listing.mutable_description(),
                          ReadString(*v, "description", 2000, /*allow_empty=*/true));
  }
  if (const json::Value* v = f.Get("pricing_model")) {
    P402_ASSIGN_OR_RETURN(*listing.mutable_pricing_model(), ReadString(*v, "pricing_model", 32));
  }
  P402_ASSIGN_OR_RETURN(const json::Value* caps, f.Require("capabilities"));
  P402_ASSIGN_OR_RETURN(std::vector<std::string> tags, ReadStrings(*caps, "capabilities", 32, 64));
  if (tags.empty()) {
    return BadValue("capabilities", "needs at least one capability tag.");
  }
  for (std::string& tag : tags) listing.add_capabilities(std::move(tag));
  P402_ASSIGN_OR_RETURN(const json::Value* price, f.Require("price_usd"));
  P402_ASSIGN_OR_RETURN(MicroUsd micros, ParseUsdJson(*price, "price_usd"));
  listing.set_price_micro_usd(micros);
  return listing;
}

// ---- Responses ----

json::Value BalanceJson(const v1::GetBalanceResponse& balance, std::string_view session_id) {
  json::Value b = json::Value::EmptyObject();
  b.Set("object", "balance");
  b.Set("session_id", session_id.empty() ? json::Value() : json::Value(session_id));
  b.Set("balance_usd", Usd(balance.balance_micro_usd()));
  b.Set("total_topped_up_usd", Usd(balance.total_topped_up_micro_usd()));
  b.Set("total_spent_usd", Usd(balance.total_spent_micro_usd()));
  return b;
}

json::Value UsageEntryJson(const v1::UsageEntry& entry) {
  json::Value e = json::Value::EmptyObject();
  e.Set("id", entry.entry_id());
  e.Set("object", "ledger_entry");
  e.Set("kind", entry.kind());
  e.Set("request_id", OrNull(entry.request_id()));
  e.Set("session_id", OrNull(entry.session_id()));
  e.Set("model", ModelName(entry.model()));
  if (entry.has_usage()) {
    json::Value& usage = e.Set("usage", json::Value::EmptyObject());
    usage.Set("input_tokens", entry.usage().input_tokens());
    usage.Set("output_tokens", entry.usage().output_tokens());
    usage.Set("cached_input_tokens", entry.usage().cached_input_tokens());
  } else {
    e.Set("usage", json::Value());
  }
  e.Set("cost_usd", Usd(entry.cost_micro_usd()));
  e.Set("platform_fee_usd", Usd(entry.platform_fee_micro_usd()));
  // The signed change of the balance (a top-up is positive, a usage negative). Saturating: the
  // service never stores values anywhere near the int64 range, but the edge must not overflow.
  std::optional<MicroUsd> change =
      SubMoney(entry.balance_after_micro_usd(), entry.balance_before_micro_usd());
  e.Set("amount_usd", change ? Usd(*change) : json::Value());
  e.Set("balance_before_usd", Usd(entry.balance_before_micro_usd()));
  e.Set("balance_after_usd", Usd(entry.balance_after_micro_usd()));
  e.Set("transaction", OrNull(entry.transaction()));
  e.Set("created_at", Seconds(entry.created_unix_ms()));
  return e;
}

json::Value UsageListJson(const v1::ListUsageResponse& usage) {
  json::Array data;
  for (const v1::UsageEntry& entry : usage.entries()) data.push_back(UsageEntryJson(entry));
  json::Value list = ListJson(std::move(data));
  list.Set("has_more", !usage.next_page_token().empty());
  list.Set("next_page_token", OrNull(usage.next_page_token()));
  return list;
}

json::Value TopUpJson(const v1::TopUpResponse& topup, std::string_view session_id) {
  const v1::SettlePaymentResponse& s = topup.settlement();
  json::Value t = json::Value::EmptyObject();
  t.Set("object", "topup");
  t.Set("credited_usd", Usd(topup.credited_micro_usd()));
  t.Set("balance_usd", Usd(topup.balance_micro_usd()));
  t.Set("session_id", session_id.empty() ? json::Value() : json::Value(session_id));
  t.Set("transaction", s.transaction());
  t.Set("network", s.network());
  t.Set("payer", s.payer());
  t.Set("duplicate", topup.duplicate() || s.duplicate());
  t.Set("entry_id", OrNull(topup.entry_id()));
  return t;
}

json::Value ListingJson(const v1::Listing& listing) {
  json::Value l = json::Value::EmptyObject();
  l.Set("id", listing.id());
  l.Set("object", "bazaar_listing");
  l.Set("provider", listing.provider());
  l.Set("name", listing.name());
  l.Set("description", listing.description());
  json::Array caps;
  for (const std::string& c : listing.capabilities()) caps.emplace_back(c);
  l.Set("capabilities", json::Value(std::move(caps)));
  l.Set("price_usd", Usd(listing.price_micro_usd()));
  l.Set("pricing_model",
        listing.pricing_model().empty() ? std::string("per-request") : listing.pricing_model());
  l.Set("endpoint", listing.endpoint());
  l.Set("network", listing.network());
  l.Set("asset", listing.asset());
  l.Set("pay_to", listing.pay_to());
  l.Set("settled_count", listing.settled_count());
  l.Set("failed_count", listing.failed_count());
  // Not money: a plain number is fine (bps / 10000 prints exactly, e.g. 0.995).
  l.Set("reliability", static_cast<double>(listing.reliability_bps()) / 10000.0);
  l.Set("reliability_bps", static_cast<int64_t>(listing.reliability_bps()));
  l.Set("volume_usd", Usd(listing.volume_micro_usd()));
  l.Set("created_at", Seconds(listing.created_unix_ms()));
  return l;
}

json::Value ListingListJson(const v1::ListListingsResponse& listings, bool paged) {
  json::Array data;
  for (const v1::Listing& l : listings.listings()) data.push_back(ListingJson(l));
  json::Value list = ListJson(std::move(data));
  if (paged) {
    list.Set("has_more", !listings.next_page_token().empty());
    list.Set("next_page_token", OrNull(listings.next_page_token()));
  }
  return list;
}

std::string FacilitatorVerifyError(std::string_view reason, std::string_view message) {
  json::Value v = json::Value::EmptyObject();
  v.Set("isValid", false);
  v.Set("invalidReason", reason);
  v.Set("invalidMessage", message);
  return v.Serialize();
}

std::string FacilitatorSettleError(std::string_view reason, std::string_view message) {
  json::Value v = json::Value::EmptyObject();
  v.Set("success", false);
  v.Set("errorReason", reason);
  v.Set("errorMessage", message);
  v.Set("transaction", "");
  v.Set("network", "");
  return v.Serialize();
}

}  // namespace p402::edge
