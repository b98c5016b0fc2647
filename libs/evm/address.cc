#include "libs/evm/address.h"

#include <algorithm>
#include <cctype>

#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"

namespace p402::evm {

absl::StatusOr<Address> ParseAddress(std::string_view text) {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return InvalidArgument("address must start with 0x");
  }
  std::string_view hex = text.substr(2);
  if (hex.size() != 40) {
    return InvalidArgument("address must have 40 hex characters after 0x, got " +
                           std::to_string(hex.size()));
  }
  std::optional<std::string> bytes = crypto::HexDecode(hex);
  if (!bytes) return InvalidArgument("address contains a non-hex character");
  Address out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::string ToLowerHex(const Address& address) { return "0x" + crypto::HexEncode(address); }

std::string ToChecksum(const Address& address) {
  std::string lower = crypto::HexEncode(address);
  crypto::Digest32 h = crypto::Keccak256(lower);
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
    char c = lower[i];
    out.push_back(nibble >= 8 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
  }
  return out;
}

bool IsValidChecksum(std::string_view text) {
  absl::StatusOr<Address> addr = ParseAddress(text);
  if (!addr.ok()) return false;
  return ToChecksum(*addr).substr(2) == text.substr(2);
}

absl::StatusOr<Address> ParseChecksummedAddress(std::string_view text) {
  absl::StatusOr<Address> addr = ParseAddress(text);
  if (!addr.ok()) return addr;
  std::string_view hex = text.substr(2);
  bool has_lower = std::any_of(hex.begin(), hex.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  bool has_upper = std::any_of(hex.begin(), hex.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && ToChecksum(*addr).substr(2) != hex) {
    return InvalidArgument("address has an invalid EIP-55 checksum");
  }
  return addr;
}

}  // namespace p402::evm
