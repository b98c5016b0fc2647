// EIP-1559 signing checked byte for byte against published vectors: viem's signTransaction test
// snapshots (src/accounts/utils/signTransaction.test.ts, anvil key #0) and ox's
// TransactionEnvelope.hash test (src/internal/transactionEnvelope/hash.test.ts); plus a
// transaction with `to` and call data produced by viem 2.x (privateKeyToAccount.signTransaction)
// in the x402 trial rig, and self-consistency (recovering the signer from SigningHash).
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/abi.h"
#include "libs/evm/transaction.h"
#include "tests/support/catch_status.h"

namespace p402::evm {
namespace {

using ::p402::testing::IsOk;

std::array<uint8_t, 32> Key(std::string_view hex0x) {
  absl::StatusOr<Bytes32> k = ParseBytes32Hex(hex0x);
  REQUIRE_THAT(k.status(), IsOk());
  return *k;
}

// Anvil / Hardhat deterministic account #0 (public test key).
constexpr std::string_view kAnvilKey0 =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
// Ganache deterministic account #0 (public test key): the facilitator in tests.
constexpr std::string_view kGanacheKey0 =
    "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";

Uint256 Gwei(uint64_t n) { return Uint256FromU64(n * 1'000'000'000ull); }

std::string SignHex(const Eip1559Transaction& tx, std::string_view key) {
  absl::StatusOr<SignedTransaction> s = SignTransaction(tx, Key(key));
  REQUIRE_THAT(s.status(), IsOk());
  CHECK(s->raw_hex == abi::ToHexData(s->raw));
  CHECK(s->hash_hex == "0x" + crypto::Keccak256Hex(s->raw));
  return s->raw_hex;
}

TEST_CASE("transaction: viem signTransaction eip1559 snapshots", "[unit]") {
  Eip1559Transaction base;
  base.chain_id = 1;
  base.nonce = 785;
  base.gas_limit = 21000;  // no `to`: viem's base transaction is a contract creation
  CHECK(SignHex(base, kAnvilKey0) ==
        "0x02f850018203118080825208808080c080a04012522854168b27e5dc3d5839bab5e6b39e1a0ffd34390"
        "1ce1622e3d64b48f1a04e00902ae0502c4728cbf12156290df99c3ed7de85b1dbfe20b5c36931733a33");

  Eip1559Transaction with_data = base;
  with_data.data = std::string("\x12\x34", 2);
  CHECK(SignHex(with_data, kAnvilKey0) ==
        "0x02f8520182031180808252088080821234c001a054d552c58a162c9003633c20871d8e381ef7a3c35d1c"
        "8a79c7c12d5cf09a0914a03c5d6241f8c4fcf8b35262de038d3ab1940feb1a70b934ae5d40ea6bce912e2d");

  Eip1559Transaction with_fees = base;
  with_fees.max_fee_per_gas = Gwei(20);
  with_fees.max_priority_fee_per_gas = Gwei(2);
  CHECK(SignHex(with_fees, kAnvilKey0) ==
        "0x02f8590182031184773594008504a817c800825208808080c001a06ea33b188b30a5f5d0d1cec62b2bac"
        "7203ff428a49048766596727737689043fa0255b74c8e704e3692497a29cd246ffc4344b4107457ce1c914"
        "fe2b4e09993859");

  Eip1559Transaction minimal;  // {chainId: 1, maxFeePerGas: 1n}
  minimal.chain_id = 1;
  minimal.max_fee_per_gas = Uint256FromU64(1);
  CHECK(SignHex(minimal, kAnvilKey0) ==
        "0x02f84c0180800180808080c080a0c95f157628e67a435b1b85584db1b8346cbccf9890d28466f6edfed0"
        "7d097793a03bdfde4f59a340a4308b5b4d2c89da83838d691c8059b228d0667309f1d2e893");
}

TEST_CASE("transaction: ox envelope hash from a given signature", "[unit]") {
  Eip1559Transaction tx;
  tx.chain_id = 1;
  tx.nonce = 665;
  tx.gas_limit = 21000;
  tx.max_fee_per_gas = Uint256FromU64(13'000'000'000ull);
  tx.max_priority_fee_per_gas = Uint256FromU64(1'000'000'000ull);
  tx.value = Uint256FromU64(1'000'000'000'000'000'000ull);
  tx.to = *ParseAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
  const SignedTransaction s = AssembleSignedTransaction(
      tx, 0, Key("0xacf664dcd984d082b68c434feb66ac684711babdeefe6f101bf8df88fc367a37"),
      Key("0x5e0800058a9b5c2250bed60ee969a45b7445e562a8298c2d222d114e6dfbfcb9"));
  CHECK(s.hash_hex == "0x57e6a86fac2dc4b827f6d77d869d625aebf88a71790a740bc859badf556d43c4");
}

TEST_CASE("transaction: call with to and data (viem 2.x, ganache key #0)", "[unit]") {
  Eip1559Transaction tx;
  tx.chain_id = 84532;
  tx.nonce = 7;
  tx.max_priority_fee_per_gas = Gwei(1);
  tx.max_fee_per_gas = Gwei(3);
  tx.gas_limit = 90000;
  tx.to = *ParseAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  tx.data = abi::EncodeBalanceOf(*ParseAddress("0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0"));
  absl::StatusOr<SignedTransaction> s = SignTransaction(tx, Key(kGanacheKey0));
  REQUIRE_THAT(s.status(), IsOk());
  CHECK(s->raw_hex ==
        "0x02f89283014a3407843b9aca0084b2d05e0083015f9094036cbd53842c5426634e7929541ec2318f3dcf"
        "7e80a470a08231000000000000000000000000ffcf8fdee72ac11b5c542428b35eef5769c409f0c080a0cc"
        "32c9e9cf8fa5427d6ee3a859c40d8c03224b3f1ffc7ea2cfc1b80b7d7cec13a06e1439c6fe985be77c0c79"
        "61326561c99d439a5799135e92b434223efeb3d275");
  CHECK(s->hash_hex == "0xaa825ebf1bbed6855a4203d8a9e8ba56bf6d5c7333b96e11751ad3c3bee0339a");
}

TEST_CASE("transaction: the signer recovers from the signing hash", "[unit]") {
  Eip1559Transaction tx;
  tx.chain_id = 84532;
  tx.nonce = 42;
  tx.max_priority_fee_per_gas = Gwei(1);
  tx.max_fee_per_gas = Gwei(5);
  tx.gas_limit = 120000;
  tx.to = *ParseAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  tx.data = std::string(300, '\x5a');  // long data: a 2-byte length prefix inside the list
  const auto key = Key(kGanacheKey0);
  absl::StatusOr<SignedTransaction> s = SignTransaction(tx, key);
  REQUIRE_THAT(s.status(), IsOk());
  REQUIRE(s->raw.size() > 3 + 65);
  CHECK(static_cast<uint8_t>(s->raw[0]) == 0x02);
  // The tail is yParity (1 byte: 0x80 or 0x01), then r and s as 0xa0 + 32 bytes (r and s are
  // almost never short; this key/tx pair was checked to give full-width values).
  const std::string tail = s->raw.substr(s->raw.size() - 67);
  const uint8_t parity_byte = static_cast<uint8_t>(tail[0]);
  REQUIRE((parity_byte == 0x80 || parity_byte == 0x01));
  REQUIRE(static_cast<uint8_t>(tail[1]) == 0xa0);
  REQUIRE(static_cast<uint8_t>(tail[34]) == 0xa0);
  std::string sig = tail.substr(2, 32) + tail.substr(35, 32);
  sig.push_back(static_cast<char>(parity_byte == 0x01 ? 1 : 0));
  absl::StatusOr<Address> rec = crypto::RecoverAddress(SigningHash(tx), sig);
  REQUIRE_THAT(rec.status(), IsOk());
  CHECK(*rec == *crypto::AddressOf(key));
  CHECK(ToChecksum(*rec) == "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1");
  CHECK(s->hash_hex == "0x" + crypto::Keccak256Hex(s->raw));
  // Any field change changes the signing hash.
  Eip1559Transaction other = tx;
  other.nonce = 43;
  CHECK(SigningHash(other) != SigningHash(tx));
  // A zero key is refused.
  CHECK_FALSE(SignTransaction(tx, std::array<uint8_t, 32>{}).ok());
}

}  // namespace
}  // namespace p402::evm
