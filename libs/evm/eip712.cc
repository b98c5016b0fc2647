#include "libs/evm/eip712.h"

#include <algorithm>

#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"

namespace p402::evm {
namespace {

template <size_t N>
void Append(std::string& out, const std::array<uint8_t, N>& bytes) {
  out.append(crypto::AsStringView(bytes));
}

// ABI-encodes an address as a 32-byte word (12 zero bytes, then the address).
void AppendAddress(std::string& out, const Address& a) {
  out.append(12, '\0');
  Append(out, a);
}

}  // namespace

absl::StatusOr<Uint256> ParseUint256Decimal(std::string_view text) {
  if (text.empty()) return InvalidArgument("uint256 must not be empty");
  Uint256 out{};
  for (char c : text) {
    if (c < '0' || c > '9') return InvalidArgument("uint256 must contain only decimal digits");
    // out = out * 10 + digit, from the least significant byte; a carry out of the top byte means
    // the value no longer fits in 256 bits.
    uint32_t carry = static_cast<uint32_t>(c - '0');
    for (int i = 31; i >= 0; --i) {
      uint32_t v = static_cast<uint32_t>(out[i]) * 10 + carry;
      out[i] = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    if (carry != 0) return InvalidArgument("uint256 value exceeds 2^256-1");
  }
  return out;
}

Uint256 Uint256FromU64(uint64_t v) {
  Uint256 out{};
  for (int i = 31; i >= 24; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

absl::StatusOr<Bytes32> ParseBytes32Hex(std::string_view text) {
  if (text.size() != 66 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return InvalidArgument("bytes32 must be 0x followed by 64 hex characters");
  }
  std::optional<std::string> bytes = crypto::HexDecode(text.substr(2));
  if (!bytes) return InvalidArgument("bytes32 contains a non-hex character");
  Bytes32 out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

crypto::Digest32 DomainTypeHash() {
  static const crypto::Digest32 h = crypto::Keccak256(kEip712DomainType);
  return h;
}

crypto::Digest32 TransferWithAuthorizationTypeHash() {
  static const crypto::Digest32 h = crypto::Keccak256(kTransferWithAuthorizationType);
  return h;
}

crypto::Digest32 DomainSeparator(const Eip712Domain& domain) {
  std::string enc;
  enc.reserve(5 * 32);
  Append(enc, DomainTypeHash());
  Append(enc, crypto::Keccak256(domain.name));
  Append(enc, crypto::Keccak256(domain.version));
  Append(enc, Uint256FromU64(domain.chain_id));
  AppendAddress(enc, domain.verifying_contract);
  return crypto::Keccak256(enc);
}

crypto::Digest32 TransferWithAuthorizationStructHash(const TransferAuthorization& auth) {
  std::string enc;
  enc.reserve(7 * 32);
  Append(enc, TransferWithAuthorizationTypeHash());
  AppendAddress(enc, auth.from);
  AppendAddress(enc, auth.to);
  Append(enc, auth.value);
  Append(enc, auth.valid_after);
  Append(enc, auth.valid_before);
  Append(enc, auth.nonce);
  return crypto::Keccak256(enc);
}

crypto::Digest32 TypedDataDigest(const Eip712Domain& domain, const TransferAuthorization& auth) {
  std::string enc("\x19\x01", 2);
  Append(enc, DomainSeparator(domain));
  Append(enc, TransferWithAuthorizationStructHash(auth));
  return crypto::Keccak256(enc);
}

}  // namespace p402::evm
