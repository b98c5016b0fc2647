#include "libs/evm/transaction.h"

#include <algorithm>
#include <span>

#include "libs/common/status_macros.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/rlp.h"

namespace p402::evm {
namespace {

constexpr char kTypeEip1559 = 0x02;

// The nine unsigned fields, shared by the signing payload and the signed transaction.
rlp::ListBuilder UnsignedFields(const Eip1559Transaction& tx) {
  rlp::ListBuilder list;
  list.Uint(tx.chain_id)
      .Uint(tx.nonce)
      .Uint(tx.max_priority_fee_per_gas)
      .Uint(tx.max_fee_per_gas)
      .Uint(tx.gas_limit);
  if (tx.to.has_value()) {
    list.Bytes(std::span<const uint8_t>(*tx.to));
  } else {
    list.Bytes(std::string_view());  // contract creation: empty `to`
  }
  list.Uint(tx.value).Bytes(tx.data).Raw(rlp::ListBuilder().Encode());  // empty access list
  return list;
}

}  // namespace

crypto::Digest32 SigningHash(const Eip1559Transaction& tx) {
  return crypto::Keccak256(std::string(1, kTypeEip1559) + UnsignedFields(tx).Encode());
}

SignedTransaction AssembleSignedTransaction(const Eip1559Transaction& tx, uint8_t y_parity,
                                            const Uint256& r, const Uint256& s) {
  rlp::ListBuilder list = UnsignedFields(tx);
  list.Uint(uint64_t{y_parity}).Uint(r).Uint(s);
  SignedTransaction out;
  out.raw = std::string(1, kTypeEip1559) + list.Encode();
  out.raw_hex = "0x" + crypto::HexEncode(out.raw);
  out.hash_hex = "0x" + crypto::HexEncode(crypto::Keccak256(out.raw));
  return out;
}

absl::StatusOr<SignedTransaction> SignTransaction(const Eip1559Transaction& tx,
                                                  const std::array<uint8_t, 32>& private_key) {
  P402_ASSIGN_OR_RETURN(crypto::Signature65 sig, crypto::SignDigest(SigningHash(tx), private_key));
  Uint256 r{}, s{};
  std::copy_n(sig.begin(), 32, r.begin());
  std::copy_n(sig.begin() + 32, 32, s.begin());
  // SignDigest reports v as 27/28; typed transactions carry the bare recovery id.
  const uint8_t y_parity = sig[64] >= 27 ? static_cast<uint8_t>(sig[64] - 27) : sig[64];
  return AssembleSignedTransaction(tx, y_parity, r, s);
}

}  // namespace p402::evm
