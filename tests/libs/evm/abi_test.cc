// ABI call data, return data and log decoding: selectors recomputed from their signatures, the
// transferWithAuthorization call data for the x402 trial vectors (data/eip3009-vectors.json),
// revert reasons (the Solidity documentation's example and one captured from ganache), Transfer
// logs.
#include <fstream>
#include <sstream>
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"
#include "libs/evm/abi.h"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::evm::abi {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;

std::string Bytes(std::string_view hex0x) {
  absl::StatusOr<std::string> b = ParseHexData(hex0x);
  INFO(hex0x);
  REQUIRE_THAT(b.status(), IsOk());
  return *b;
}

std::string Pad64(std::string hex) { return std::string(64 - hex.size(), '0') + hex; }

TEST_CASE("abi: selectors are keccak256 of their signatures", "[unit]") {
  CHECK(SelectorOf("transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,"
                   "uint8,bytes32,bytes32)") == kTransferWithAuthorizationVrs);
  CHECK(SelectorOf("authorizationState(address,bytes32)") == kAuthorizationState);
  CHECK(SelectorOf("balanceOf(address)") == kBalanceOf);
  CHECK(SelectorOf("name()") == kName);
  CHECK(SelectorOf("version()") == kVersion);
  CHECK("0x" + crypto::Keccak256Hex("Transfer(address,address,uint256)") == kTransferTopic);
  // The well-known ERC-20 transfer selector, as an independent anchor.
  CHECK(SelectorOf("transfer(address,uint256)") == 0xa9059cbbu);
  CHECK(crypto::HexEncode(EncodeNoArgs(kName)) == "06fdde03");
}

TEST_CASE("abi: hex data", "[unit]") {
  CHECK(*ParseHexData("0x") == "");
  CHECK(*ParseHexData("0X0aFf") == std::string("\x0a\xff", 2));
  CHECK_THAT(ParseHexData("0aff").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseHexData("0xabc").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseHexData("0xzz").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(ToHexData(std::string("\x0a\xff", 2)) == "0x0aff");
}

TEST_CASE("abi: transferWithAuthorization call data for the trial vectors", "[unit]") {
  std::ifstream in(::p402::testing::SourceDir() + "/tests/libs/evm/data/eip3009-vectors.json");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<json::Value> root = json::Value::Parse(ss.str());
  REQUIRE_THAT(root.status(), IsOk());
  const json::Value& a = *root->Find("authorization");
  TransferAuthorization auth;
  auth.from = *ParseAddress(*a.GetString("from"));
  auth.to = *ParseAddress(*a.GetString("to"));
  auth.value = *ParseUint256Decimal(*a.GetString("value"));
  auth.valid_after = *ParseUint256Decimal(*a.GetString("validAfter"));
  auth.valid_before = *ParseUint256Decimal(*a.GetString("validBefore"));
  auth.nonce = *ParseBytes32Hex(*a.GetString("nonce"));
  int checked = 0;
  for (const json::Value& v : root->Find("vectors")->AsArray()) {
    const std::string sig_hex(*v.GetString("signature"));
    crypto::Signature65 sig{};
    const std::string sig_bytes = Bytes(sig_hex);
    REQUIRE(sig_bytes.size() == 65);
    std::copy(sig_bytes.begin(), sig_bytes.end(), sig.begin());
    // Expected: selector, then nine 32-byte words written out from the JSON by hand.
    const std::string expected =
        "e3ee160e" + Pad64("ffcf8fdee72ac11b5c542428b35eef5769c409f0") +
        Pad64("22d491bde2303f2f43325b2108d26f1eaba1e32b") + Pad64("2710") /* 10000 */ + Pad64("0") +
        Pad64("713fb300") /* 1900000000 */ + std::string(a.GetString("nonce")->substr(2)) +
        Pad64(*v.GetInt("v") == 27 ? "1b" : "1c") + std::string(v.GetString("r")->substr(2)) +
        std::string(v.GetString("s")->substr(2));
    const std::string data = EncodeTransferWithAuthorization(auth, sig);
    CHECK(data.size() == 4 + 9 * 32);
    CHECK(crypto::HexEncode(data) == expected);
    // A 0/1 recovery id is sent as 27/28.
    crypto::Signature65 raw_v = sig;
    raw_v[64] = static_cast<uint8_t>(sig[64] - 27);
    CHECK(EncodeTransferWithAuthorization(auth, raw_v) == data);
    ++checked;
  }
  CHECK(checked == 2);
}

TEST_CASE("abi: other call data", "[unit]") {
  const Address owner = *ParseAddress("0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0");
  CHECK(crypto::HexEncode(EncodeBalanceOf(owner)) ==
        "70a08231000000000000000000000000ffcf8fdee72ac11b5c542428b35eef5769c409f0");
  Bytes32 nonce{};
  nonce[31] = 7;
  CHECK(crypto::HexEncode(EncodeAuthorizationState(owner, nonce)) ==
        "e94a0102000000000000000000000000ffcf8fdee72ac11b5c542428b35eef5769c409f0" + Pad64("7"));
}

TEST_CASE("abi: uint256, bool and string return data", "[unit]") {
  const std::string ten_usdc = Bytes("0x" + Pad64("989680"));
  absl::StatusOr<Uint256> u = DecodeUint256(ten_usdc);
  REQUIRE_THAT(u.status(), IsOk());
  CHECK(*u == Uint256FromU64(10'000'000));
  CHECK_THAT(DecodeUint256(Bytes("0x")).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeUint256(ten_usdc.substr(1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));

  CHECK(*DecodeBool(Bytes("0x" + Pad64("1"))) == true);
  CHECK(*DecodeBool(Bytes("0x" + Pad64("0"))) == false);
  CHECK_THAT(DecodeBool(Bytes("0x" + Pad64("2"))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeBool("").status(), StatusIs(absl::StatusCode::kInvalidArgument));

  // name() of the test token: "USDC".
  const std::string name =
      Bytes("0x" + Pad64("20") + Pad64("4") + "55534443" + std::string(56, '0'));
  CHECK(*DecodeString(name) == "USDC");
  CHECK(*DecodeString(Bytes("0x" + Pad64("20") + Pad64("0"))) == "");
  // Offsets and lengths beyond the data, or absurdly large, are errors, never crashes.
  CHECK_THAT(DecodeString(Bytes("0x" + Pad64("20") + Pad64("40"))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeString(Bytes("0x" + Pad64("60") + Pad64("0"))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeString(Bytes("0x" + std::string(64, 'f') + Pad64("0"))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeString(Bytes("0x" + Pad64("20") + std::string(64, 'f'))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(DecodeString(Bytes("0x" + Pad64("20"))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("abi: revert reasons", "[unit]") {
  // The example of the Solidity documentation ("Error handling"): "Not enough Ether provided."
  const std::string docs = Bytes(
      "0x08c379a0"
      "0000000000000000000000000000000000000000000000000000000000000020"
      "000000000000000000000000000000000000000000000000000000000000001a"
      "4e6f7420656e6f7567682045746865722070726f76696465642e000000000000");
  CHECK(DecodeRevertReason(docs) == std::optional<std::string>("Not enough Ether provided."));
  // Captured from ganache: eth_call of transferWithAuthorization with a wrong signature.
  const std::string ganache = Bytes(
      "0x08c379a00000000000000000000000000000000000000000000000000000000000000020000000000000000"
      "000000000000000000000000000000000000000000000001e46696174546f6b656e56323a20696e76616c6964"
      "207369676e61747572650000");
  CHECK(DecodeRevertReason(ganache) ==
        std::optional<std::string>("FiatTokenV2: invalid signature"));
  // Not Error(string): a Panic(uint256) (0x4e487b71), empty data, a truncated payload.
  CHECK_FALSE(DecodeRevertReason(Bytes("0x4e487b71" + Pad64("11"))).has_value());
  CHECK_FALSE(DecodeRevertReason("").has_value());
  CHECK_FALSE(DecodeRevertReason(docs.substr(0, 40)).has_value());
}

TEST_CASE("abi: Transfer logs", "[unit]") {
  const Address token = *ParseAddress("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  const Bytes32 topic = *ParseBytes32Hex(kTransferTopic);
  const Bytes32 from = *ParseBytes32Hex("0x" + Pad64("ffcf8fdee72ac11b5c542428b35eef5769c409f0"));
  const Bytes32 to = *ParseBytes32Hex("0x" + Pad64("22d491bde2303f2f43325b2108d26f1eaba1e32b"));
  const std::string value = Bytes("0x" + Pad64("2710"));
  std::optional<TransferLog> log = DecodeTransferLog(token, {topic, from, to}, value);
  REQUIRE(log.has_value());
  CHECK(log->token == token);
  CHECK(ToChecksum(log->from) == "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0");
  CHECK(ToChecksum(log->to) == "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b");
  CHECK(log->value == Uint256FromU64(10000));
  // Other events, missing topics, non-address topics and odd data are not Transfers.
  Bytes32 approval = topic;
  approval[0] ^= 1;
  CHECK_FALSE(DecodeTransferLog(token, {approval, from, to}, value).has_value());
  CHECK_FALSE(DecodeTransferLog(token, {topic, from}, value).has_value());
  CHECK_FALSE(DecodeTransferLog(token, {topic, from, to, to}, value).has_value());
  Bytes32 dirty = from;
  dirty[0] = 1;
  CHECK_FALSE(DecodeTransferLog(token, {topic, dirty, to}, value).has_value());
  CHECK_FALSE(DecodeTransferLog(token, {topic, from, to}, "").has_value());
  CHECK_FALSE(DecodeTransferLog(token, {topic, from, to}, value + value).has_value());
}

}  // namespace
}  // namespace p402::evm::abi
