// File: services/settlement/core/requirements.cc
// P402's own x402 offers: one per routing mode (worst-case cost + fee) or a plain amount (top-up).
#include "services/settlement/core/requirements.h"

#include <string>

#include "libs/common/status_util.h"
#include "libs/evm/address.h"
#include "libs/json/value.h"
#include "libs/x402/network.h"

namespace p402::settlement {
namespace {

constexpr char kScheme[] = "exact";
constexpr char kMimeType[] = "application/json";

// v1 clients base64 the JSON with btoa, which throws above U+00FF (X402.md 4): offers stay ASCII.
std::string AsciiOnly(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

// An absolute http(s) URL with a non-empty host (v1 clients validate `resource` as a URL).
bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else {
    return false;
  }
  size_t host_end = rest.find_first_of("/?#");
  std::string_view host = rest.substr(0, host_end);
  if (host.empty() || host.front() == ':') return false;
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

absl::StatusOr<std::string> NetworkFor(const PaymentTerms& terms, int version) {
  std::optional<std::string> network = x402::NetworkForVersion(terms.chain_id, version);
  if (!network.has_value()) {
    return InvalidArgument("x402 version 1 cannot pay on chain " + std::to_string(terms.chain_id) +
                           " (no v1 network name)");
  }
  return *network;
}

absl::StatusOr<int> CheckVersion(int version) {
  if (version == 0) return 2;
  if (version != 1 && version != 2) {
    return InvalidArgument("x402_version must be 1 or 2, got " + std::to_string(version));
  }
  return version;
}

std::string ModelLabel(const v1::ModelRef& model) {
  if (model.provider().empty()) return AsciiOnly(model.model());
  if (model.model().empty()) return AsciiOnly(model.provider());
  return AsciiOnly(model.provider()) + "/" + AsciiOnly(model.model());
}

v1::PaymentRequirement BaseRequirement(const PaymentTerms& terms, const std::string& network,
                                       MicroUsd amount, std::string_view resource) {
  v1::PaymentRequirement req;
  req.set_scheme(kScheme);
  req.set_network(network);
  req.set_amount(std::to_string(amount));
  req.set_asset(evm::ToChecksum(terms.asset));
  req.set_pay_to(evm::ToChecksum(terms.pay_to));
  req.set_max_timeout_seconds(terms.max_timeout_seconds);
  req.set_resource(std::string(resource));
  req.set_mime_type(kMimeType);
  return req;
}

}  // namespace

std::string_view ModeName(v1::RoutingMode mode) {
  switch (mode) {
    case v1::ROUTING_MODE_COST:
      return "cost";
    case v1::ROUTING_MODE_QUALITY:
      return "quality";
    case v1::ROUTING_MODE_SPEED:
      return "speed";
    case v1::ROUTING_MODE_BALANCED:
      return "balanced";
    case v1::ROUTING_MODE_CUSTOM:
      return "custom";
    default:
      return "";
  }
}

absl::StatusOr<v1::GetPaymentRequirementsResponse> BuildRequirements(
    const PaymentTerms& terms, const FeeSchedule& fees, MicroUsd monthly_volume,
    const v1::GetPaymentRequirementsRequest& request) {
  absl::StatusOr<int> version = CheckVersion(request.x402_version());
  if (!version.ok()) return version.status();
  if (request.mode_costs().empty()) return InvalidArgument("mode_costs must not be empty");
  if (request.top_up()) {
    // A prepaid top-up: one plain amount, no fee, no mode.
    if (request.mode_costs_size() != 1) {
      return InvalidArgument("a top_up request takes exactly one mode_costs entry");
    }
    absl::StatusOr<v1::PaymentRequirement> offer =
        BuildAmountRequirement(terms, request.mode_costs(0).worst_case_micro_usd(), *version,
                               request.resource(), request.description());
    if (!offer.ok()) return offer.status();
    v1::GetPaymentRequirementsResponse response;
    response.set_x402_version(*version);
    *response.add_accepts() = std::move(*offer);
    return response;
  }
  if (!IsHttpUrl(request.resource())) {
    return InvalidArgument("resource must be an absolute http(s) URL");
  }
  absl::StatusOr<std::string> network = NetworkFor(terms, *version);
  if (!network.ok()) return network.status();

  v1::GetPaymentRequirementsResponse response;
  response.set_x402_version(*version);
  for (int i = 0; i < request.mode_costs_size(); ++i) {
    const v1::ModeCost& cost = request.mode_costs(i);
    const std::string field = "mode_costs[" + std::to_string(i) + "]";
    std::string_view mode = ModeName(cost.mode());
    if (mode.empty()) return InvalidArgument(field + ".mode must be a routing mode");
    if (cost.worst_case_micro_usd() < 0) {
      return InvalidArgument(field + ".worst_case_micro_usd must not be negative");
    }
    const MicroUsd model_cost = cost.worst_case_micro_usd();
    const MicroUsd fee = fees.FeeFor(model_cost, monthly_volume);
    std::optional<MicroUsd> amount = AddMoney(model_cost, fee);
    if (!amount.has_value()) return InvalidArgument(field + ".worst_case_micro_usd is too large");
    // A 0-value authorization would be a free pass; the minimum is one atomic unit, counted as
    // fee so that model cost + fee = amount still holds.
    if (*amount < 1) amount = 1;
    const MicroUsd fee_total = *amount - model_cost;
    const std::string model = ModelLabel(cost.model());

    v1::PaymentRequirement* req = response.add_accepts();
    *req = BaseRequirement(terms, *network, *amount, request.resource());
    req->set_description(request.description().empty()
                             ? "P402 chat completion (" + std::string(mode) + " mode, " + model +
                                   ")"
                             : AsciiOnly(request.description()));
    json::Value extra = json::Value::EmptyObject();
    extra.Set("name", AsciiOnly(terms.asset_name));
    extra.Set("version", AsciiOnly(terms.asset_version));
    extra.Set("p402_mode", std::string(mode));
    extra.Set("p402_model", model);
    extra.Set("p402_model_cost_micro_usd", model_cost);
    extra.Set("p402_fee_micro_usd", fee_total);
    req->set_extra_json(extra.Serialize());
    req->set_mode(cost.mode());
    *req->mutable_model() = cost.model();
    req->set_model_cost_micro_usd(model_cost);
    req->set_platform_fee_micro_usd(fee_total);
  }
  return response;
}

absl::StatusOr<v1::PaymentRequirement> BuildAmountRequirement(const PaymentTerms& terms,
                                                              MicroUsd amount, int version,
                                                              std::string_view resource,
                                                              std::string_view description) {
  absl::StatusOr<int> checked = CheckVersion(version);
  if (!checked.ok()) return checked.status();
  if (amount < 1) return InvalidArgument("amount must be at least 1 micro-USD");
  if (!IsHttpUrl(resource)) return InvalidArgument("resource must be an absolute http(s) URL");
  absl::StatusOr<std::string> network = NetworkFor(terms, *checked);
  if (!network.ok()) return network.status();
  v1::PaymentRequirement req = BaseRequirement(terms, *network, amount, resource);
  req.set_description(description.empty() ? std::string("P402 prepaid top-up")
                                          : AsciiOnly(description));
  json::Value extra = json::Value::EmptyObject();
  extra.Set("name", AsciiOnly(terms.asset_name));
  extra.Set("version", AsciiOnly(terms.asset_version));
  req.set_extra_json(extra.Serialize());
  return req;
}

}  // namespace p402::settlement
