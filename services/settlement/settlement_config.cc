#include "services/settlement/settlement_config.h"

#include <cstdint>
#include <string>

#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "services/settlement/core/fee_schedule.h"

namespace p402::settlement {
namespace {

config::Validator<std::string> Address(bool allow_empty) {
  return [allow_empty](const std::string& text) -> absl::Status {
    if (text.empty() && allow_empty) return absl::OkStatus();
    absl::StatusOr<evm::Address> parsed = evm::ParseChecksummedAddress(text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          "must be a 0x address (EIP-55 checksum or one case), got \"" + text +
          "\": " + std::string(parsed.status().message()));
    }
    if (*parsed == evm::Address{}) {
      return absl::InvalidArgumentError("must not be the zero address");
    }
    return absl::OkStatus();
  };
}

config::Validator<std::string> HttpUrl() {
  return [](const std::string& text) -> absl::Status {
    // The value is a secret (it may embed an API key): never echo it.
    if (text.empty() || text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError("must be an http:// or https:// URL");
  };
}

config::Validator<std::string> FeeScheduleText() {
  return [](const std::string& text) -> absl::Status {
    absl::StatusOr<FeeSchedule> parsed = FeeSchedule::Parse(text);
    if (!parsed.ok()) return parsed.status();
    return absl::OkStatus();
  };
}

config::Validator<std::string> FacilitatorKey() {
  return [](const std::string& text) -> absl::Status {
    if (text.empty()) return absl::OkStatus();
    return ParseFacilitatorKey(text).status();
  };
}

absl::Status CrossChecks(const SettlementConfig& c) {
  if (!c.chain_rpc_url.empty() && c.facilitator_key.empty()) {
    return InvalidArgument(
        "P402_SETTLEMENT_CHAIN_RPC_URL is set but P402_SETTLEMENT_FACILITATOR_KEY (or _FILE) is "
        "not: settling needs the facilitator's key (it pays the gas)");
  }
  if (c.chain_rpc_url.empty() && !c.facilitator_key.empty()) {
    return InvalidArgument(
        "P402_SETTLEMENT_FACILITATOR_KEY is set but P402_SETTLEMENT_CHAIN_RPC_URL is not: "
        "without a chain nothing can be settled; set both or neither");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::array<uint8_t, 32>> ParseFacilitatorKey(std::string_view text) {
  std::string_view hex = text;
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  std::optional<std::string> raw = hex.size() == 64 ? crypto::HexDecode(hex) : std::nullopt;
  if (!raw.has_value()) {
    return InvalidArgument("facilitator key: must be 64 hex digits (optionally 0x-prefixed)");
  }
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>((*raw)[i]);
  if (!crypto::AddressOf(key).ok()) {
    return InvalidArgument("facilitator key: not a valid secp256k1 private key (zero or >= n)");
  }
  return key;
}

absl::StatusOr<PaymentTerms> TermsFromConfig(const SettlementConfig& config,
                                             const evm::Address& pay_to_fallback) {
  PaymentTerms terms;
  terms.chain_id = static_cast<uint64_t>(config.chain_id);
  absl::StatusOr<evm::Address> asset = evm::ParseChecksummedAddress(config.asset);
  if (!asset.ok()) return InvalidArgument("asset: " + MessageOf(asset.status()));
  terms.asset = *asset;
  terms.asset_name = config.asset_name;
  terms.asset_version = config.asset_version;
  terms.asset_decimals = 6;
  if (config.pay_to.empty()) {
    terms.pay_to = pay_to_fallback;
  } else {
    absl::StatusOr<evm::Address> pay_to = evm::ParseChecksummedAddress(config.pay_to);
    if (!pay_to.ok()) return InvalidArgument("pay_to: " + MessageOf(pay_to.status()));
    terms.pay_to = *pay_to;
  }
  terms.max_timeout_seconds = config.max_timeout_seconds;
  terms.receipt_timeout = std::chrono::milliseconds(config.receipt_timeout_ms);
  return terms;
}

const config::Schema<SettlementConfig>& SettlementConfigSchema() {
  static const auto* const schema = [] {
    using C = SettlementConfig;
    auto* s = new config::Schema<C>("p402-settlement");
    s->String("grpc_listen", "P402_SETTLEMENT_GRPC_LISTEN", &C::grpc_listen, "127.0.0.1:50054",
              "gRPC listen address (port 0 = any free port)")
        .Validate(config::ListenAddress());
    s->String("admin_listen", "P402_SETTLEMENT_ADMIN_LISTEN", &C::admin_listen, "127.0.0.1:9084",
              "Admin listener: /metrics, /healthz, /readyz")
        .Validate(config::ListenAddress());
    s->String("database_url", "P402_SETTLEMENT_DATABASE_URL", &C::database_url, "",
              "PostgreSQL DSN (secret: env or P402_SETTLEMENT_DATABASE_URL_FILE); empty = "
              "in-memory stores (payments, ledger, Bazaar lost on exit)")
        .Secret();
    s->Int("pg_pool_size", "P402_SETTLEMENT_PG_POOL_SIZE", &C::pg_pool_size, 8,
           "PostgreSQL connections")
        .Validate(config::InRange(1, 256));
    s->Int("worker_threads", "P402_SETTLEMENT_WORKER_THREADS", &C::worker_threads, 8,
           "Threads running the blocking store and chain calls of the RPCs")
        .Validate(config::InRange(1, 256));
    s->String("chain_rpc_url", "P402_SETTLEMENT_CHAIN_RPC_URL", &C::chain_rpc_url, "",
              "EVM JSON-RPC endpoint (secret: env or P402_SETTLEMENT_CHAIN_RPC_URL_FILE, hosted "
              "URLs embed API keys); empty = no chain: payments are verified without chain "
              "checks and SettlePayment/TopUp answer FAILED_PRECONDITION")
        .Secret()
        .Validate(HttpUrl());
    s->String("facilitator_key", "P402_SETTLEMENT_FACILITATOR_KEY", &C::facilitator_key, "",
              "Facilitator private key, 64 hex digits (secret: env or "
              "P402_SETTLEMENT_FACILITATOR_KEY_FILE); pays the gas; required with a chain")
        .Secret()
        .Validate(FacilitatorKey());
    s->Int("chain_id", "P402_SETTLEMENT_CHAIN_ID", &C::chain_id, 84532,
           "EVM chain id (8453 Base, 84532 Base Sepolia); checked against the node at start")
        .Validate(config::InRange(1, INT64_MAX));
    s->String("asset", "P402_SETTLEMENT_ASSET", &C::asset, kBaseSepoliaUsdc,
              "Token contract (EIP-3009 USDC, 6 decimals); default Base Sepolia USDC")
        .Validate(Address(false));
    s->String("asset_name", "P402_SETTLEMENT_ASSET_NAME", &C::asset_name, "USDC",
              "EIP-712 domain name of the token (Base mainnet USDC: \"USD Coin\")")
        .Validate(config::NonEmpty());
    s->String("asset_version", "P402_SETTLEMENT_ASSET_VERSION", &C::asset_version, "2",
              "EIP-712 domain version of the token")
        .Validate(config::NonEmpty());
    s->String("pay_to", "P402_SETTLEMENT_PAY_TO", &C::pay_to, "",
              "Wallet P402's own payments go to; empty = the facilitator's address (with a key), "
              "else no payments are offered (GetPaymentRequirements: settlement_not_configured)")
        .Validate(Address(true));
    s->Int("max_timeout_seconds", "P402_SETTLEMENT_MAX_TIMEOUT_SECONDS", &C::max_timeout_seconds,
           300, "maxTimeoutSeconds offered: how long a signed authorization may stay valid")
        .Validate(config::InRange(10, 86'400));
    s->Int("receipt_timeout_ms", "P402_SETTLEMENT_RECEIPT_TIMEOUT_MS", &C::receipt_timeout_ms,
           30'000,
           "Longest wait for a settlement's receipt before answering settlement_pending (the "
           "reconciler finishes it later)")
        .Validate(config::InRange(100, 600'000));
    s->Duration("chain_rpc_timeout", "P402_SETTLEMENT_CHAIN_RPC_TIMEOUT", &C::chain_rpc_timeout,
                std::chrono::seconds(10), "Per JSON-RPC call to the chain node")
        .Validate(config::PositiveDuration());
    s->Duration("reconcile_interval", "P402_SETTLEMENT_RECONCILE_INTERVAL", &C::reconcile_interval,
                std::chrono::seconds(5),
                "How often broadcast-but-unconfirmed payments are checked on chain (with a chain)")
        .Validate(config::PositiveDuration());
    s->String("fee_schedule", "P402_SETTLEMENT_FEE_SCHEDULE", &C::fee_schedule, kDefaultFeeSchedule,
              "Platform fee tiers: min monthly volume micro-USD : basis points, ascending")
        .Validate(FeeScheduleText());
    s->String("ready_file", "P402_SETTLEMENT_READY_FILE", &C::ready_file, "",
              "After binding, write the bound ports as JSON here (tests)");
    s->Check(CrossChecks);
    s->IgnoreEnvPrefix("P402_TEST_");
    return s;
  }();
  return *schema;
}

}  // namespace p402::settlement
