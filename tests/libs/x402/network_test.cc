// libs/x402 network ids (v1 names, CAIP-2) and reason-code aliases.
#include "libs/x402/network.h"

#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/x402/reasons.h"
#include "tests/libs/x402/x402_test_data.h"
#include "tests/support/catch_status.h"

namespace p402::x402 {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;

TEST_CASE("v1 network names map to their chain ids both ways", "[unit]") {
  const std::pair<const char*, uint64_t> table[] = {
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
      {"ethereum", 1},
      {"sepolia", 11155111},
      {"megaeth", 4326},
      {"monad", 143},
      {"stable", 988},
      {"stable-testnet", 2201},
      {"celo", 42220},
      {"flare", 14},
  };
  for (const auto& [name, id] : table) {
    INFO(name);
    CHECK(ChainIdOfV1Name(name) == id);
    CHECK(V1NameOfChainId(id) == std::string_view(name));
    CHECK(NetworkForVersion(id, 1) == std::string(name));
    CHECK(ChainIdOfNetwork(name).value_or(0) == id);
  }
  CHECK_FALSE(ChainIdOfV1Name("solana").has_value());
  CHECK_FALSE(ChainIdOfV1Name("Base").has_value());  // exact, lowercase only
  CHECK_FALSE(ChainIdOfV1Name("").has_value());
  CHECK_FALSE(V1NameOfChainId(31337).has_value());
  CHECK_FALSE(NetworkForVersion(31337, 1).has_value());
}

TEST_CASE("every v1 network the reference facilitator lists is in the table", "[unit]") {
  const json::Value supported = testdata::ReadJson("facilitator-supported.json");
  int v1_kinds = 0;
  for (const json::Value& kind : testdata::At(supported, {"kinds"}).AsArray()) {
    const std::string network(kind.GetString("network").value_or(""));
    INFO(network);
    if (kind.GetInt("x402Version") == 1) {
      ++v1_kinds;
      CHECK(ChainIdOfV1Name(network).has_value());
    } else {
      CHECK(ParseCaip2(network).value_or(0) == 84532);
    }
  }
  CHECK(v1_kinds == 23);
}

TEST_CASE("CAIP-2 eip155 ids parse strictly and format back", "[unit]") {
  CHECK(ParseCaip2("eip155:8453").value_or(0) == 8453);
  CHECK(ParseCaip2("eip155:84532").value_or(0) == 84532);
  CHECK(ParseCaip2("eip155:1").value_or(0) == 1);
  CHECK(ParseCaip2("eip155:18446744073709551615").value_or(0) == 18446744073709551615ull);
  for (const char* bad :
       {"", "eip155:", "eip155:0", "eip155:08453", "eip155:+8453", "eip155:-1", "eip155:84 53",
        "eip155:8453 ", "EIP155:8453", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "eip155:0x2105",
        "eip155:18446744073709551616", "base", "eip155:1:2"}) {
    INFO(bad);
    CHECK_THAT(ParseCaip2(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  CHECK(Caip2(8453) == "eip155:8453");
  CHECK(Caip2(84532) == "eip155:84532");
  CHECK(NetworkForVersion(8453, 2) == std::string("eip155:8453"));
  CHECK(NetworkForVersion(31337, 2) == std::string("eip155:31337"));
}

TEST_CASE("ChainIdOfNetwork takes either form and names what it rejects", "[unit]") {
  CHECK(ChainIdOfNetwork("eip155:31337").value_or(0) == 31337);
  CHECK(ChainIdOfNetwork("base-sepolia").value_or(0) == 84532);
  CHECK_THAT(ChainIdOfNetwork("solana-devnet").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "solana-devnet"));
  CHECK_THAT(ChainIdOfNetwork("eip155:abc").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "eip155:abc"));
}

TEST_CASE("legacy reason codes map to the @x402/evm 2.27 spellings", "[unit]") {
  CHECK(ReasonAlias("insufficient_funds") == kInsufficientBalance);
  CHECK(ReasonAlias("invalid_exact_evm_payload_signature") == kSignature);
  CHECK(ReasonAlias("invalid_exact_evm_payload_recipient_mismatch") == kRecipientMismatch);
  CHECK(ReasonAlias("invalid_network") == kNetworkMismatch);
  CHECK(ReasonAlias("unsupported_scheme") == kInvalidScheme);
  CHECK(ReasonAlias("invalid_scheme") == kInvalidScheme);
  CHECK(ReasonAlias("invalid_exact_evm_payload_authorization_value") == kValueMismatchV1);
  CHECK(ReasonAlias("invalid_transaction_state") == kTransactionFailed);
  // Current names and unknown codes pass through unchanged.
  CHECK(ReasonAlias(kSignature) == kSignature);
  CHECK(ReasonAlias(kValueMismatch) == kValueMismatch);
  CHECK(ReasonAlias("invalid_exact_evm_payload_authorization_valid_before") == kValidBefore);
  CHECK(ReasonAlias("something_new") == "something_new");
  CHECK(ReasonAlias("") == "");
}

}  // namespace
}  // namespace p402::x402
