#include "libs/x402/network.h"

#include <array>
#include <limits>
#include <utility>

#include "libs/common/status_util.h"

namespace p402::x402 {
namespace {

constexpr std::string_view kCaip2Prefix = "eip155:";

// X402.md 1.8: the EVM names of x402@1.2.0's network enum, then the ones @x402/evm 2.27 added.
// Chain ids are unique, so the table maps both ways.
constexpr std::array<std::pair<std::string_view, uint64_t>, 23> kV1Networks = {{
    {"base", 8453},
    {"base-sepolia", 84532},
    {"avalanche", 43114},
    {"avalanche-fuji", 43113},
    {"polygon", 137},
    {"polygon-amoy", 80002},
    {"sei", 1329},
    {"sei-testnet", 1328},
    {"iotex", 4689},
    {"abstract", 2741},
    {"abstract-testnet", 11124},
    {"peaq", 3338},
    {"story", 1514},
    {"educhain", 41923},
    {"skale-base-sepolia", 324705682},
    // @x402/evm 2.27 additions.
    {"ethereum", 1},
    {"sepolia", 11155111},
    {"megaeth", 4326},
    {"monad", 143},
    {"stable", 988},
    {"stable-testnet", 2201},
    {"celo", 42220},
    {"flare", 14},
}};

}  // namespace

std::optional<uint64_t> ChainIdOfV1Name(std::string_view name) {
  for (const auto& [n, id] : kV1Networks) {
    if (n == name) return id;
  }
  return std::nullopt;
}

std::optional<std::string_view> V1NameOfChainId(uint64_t chain_id) {
  for (const auto& [n, id] : kV1Networks) {
    if (id == chain_id) return n;
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseCaip2(std::string_view network) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("network \"" + std::string(network.substr(0, 64)) +
                           "\" is not a CAIP-2 eip155 id: " + std::string(why));
  };
  if (network.substr(0, kCaip2Prefix.size()) != kCaip2Prefix) return bad("missing eip155:");
  std::string_view digits = network.substr(kCaip2Prefix.size());
  if (digits.empty()) return bad("no chain id");
  if (digits.size() > 1 && digits[0] == '0') return bad("leading zero");
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return bad("chain id is not decimal");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) return bad("chain id too large");
    value = value * 10 + d;
  }
  if (value == 0) return bad("chain id 0");
  return value;
}

std::string Caip2(uint64_t chain_id) {
  return std::string(kCaip2Prefix) + std::to_string(chain_id);
}

absl::StatusOr<uint64_t> ChainIdOfNetwork(std::string_view network) {
  if (network.substr(0, kCaip2Prefix.size()) == kCaip2Prefix) return ParseCaip2(network);
  if (std::optional<uint64_t> id = ChainIdOfV1Name(network)) return *id;
  return InvalidArgument("unknown network \"" + std::string(network.substr(0, 64)) +
                         "\" (expected eip155:<chain id> or an x402 v1 EVM network name)");
}

std::optional<std::string> NetworkForVersion(uint64_t chain_id, int version) {
  if (version == 1) {
    std::optional<std::string_view> name = V1NameOfChainId(chain_id);
    if (!name) return std::nullopt;
    return std::string(*name);
  }
  return Caip2(chain_id);
}

}  // namespace p402::x402
