#include "services/settlement/settlement_server.h"

#include <thread>

#include "absl/strings/cord.h"
#include "absl/synchronization/mutex.h"
#include "libs/admin/admin_server.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/evm/address.h"
#include "libs/rpc/server_runner.h"
#include "libs/store/pg_pool.h"
#include "libs/store/worker_pool.h"
#include "services/settlement/adapters/evm_chain_gateway.h"
#include "services/settlement/adapters/memory_bazaar_store.h"
#include "services/settlement/adapters/memory_ledger.h"
#include "services/settlement/adapters/memory_payment_store.h"
#include "services/settlement/adapters/pg_bazaar_store.h"
#include "services/settlement/adapters/pg_ledger.h"
#include "services/settlement/adapters/pg_payment_store.h"
#include "services/settlement/core/bazaar.h"
#include "services/settlement/core/settlement_engine.h"
#include "services/settlement/rpc/settlement_service.h"

namespace p402::settlement {
namespace {

// Never offered: the engine needs a valid pay_to, but without a configured one the rpc layer
// refuses GetPaymentRequirements (settlement_not_configured), so no payment can name this.
constexpr char kUnconfiguredPayTo[] = "0x000000000000000000000000000000000000dEaD";

// Counts the chain gateway's failures in p402_settlement_chain_failures_total{op}, whatever the
// implementation. FailedPrecondition (a revert at estimation, a transaction the node rejected) and
// InvalidArgument are answers about the payment, not failures of the chain connection.
// Also removes the RPC URL from error messages: hosted URLs embed API keys, and these messages
// reach logs and, through the engine's statuses, the callers.
class CountingChainGateway final : public ChainGateway {
 public:
  CountingChainGateway(std::unique_ptr<ChainGateway> inner, std::string rpc_url,
                       metrics::Registry& registry)
      : inner_(std::move(inner)),
        rpc_url_(std::move(rpc_url)),
        failures_(registry.AddCounterFamily(
            "p402_settlement_chain_failures_total",
            "Chain gateway calls that failed (node unreachable, timeout, bad answer); payments "
            "failed closed",
            {"op"})) {}

  absl::StatusOr<uint64_t> ChainId() override { return Count("chain_id", inner_->ChainId()); }
  evm::Address SignerAddress() const override { return inner_->SignerAddress(); }
  absl::StatusOr<bool> HasCode(const evm::Address& token) override {
    return Count("has_code", inner_->HasCode(token));
  }
  absl::StatusOr<evm::Uint256> BalanceOf(const evm::Address& token,
                                         const evm::Address& owner) override {
    return Count("balance_of", inner_->BalanceOf(token, owner));
  }
  absl::StatusOr<bool> AuthorizationUsed(const evm::Address& token, const evm::Address& authorizer,
                                         const evm::Bytes32& nonce) override {
    return Count("authorization_state", inner_->AuthorizationUsed(token, authorizer, nonce));
  }
  absl::StatusOr<Simulation> SimulateTransfer(const evm::Address& token,
                                              const evm::TransferAuthorization& auth,
                                              const crypto::Signature65& signature) override {
    return Count("simulate", inner_->SimulateTransfer(token, auth, signature));
  }
  absl::StatusOr<PreparedTransfer> PrepareTransfer(const evm::Address& token,
                                                   const evm::TransferAuthorization& auth,
                                                   const crypto::Signature65& signature) override {
    return Count("prepare", inner_->PrepareTransfer(token, auth, signature));
  }
  absl::Status Broadcast(const PreparedTransfer& transfer) override {
    return Note("broadcast", inner_->Broadcast(transfer));
  }
  absl::StatusOr<bool> TransactionKnown(std::string_view tx_hash) override {
    return Count("transaction_known", inner_->TransactionKnown(tx_hash));
  }
  absl::StatusOr<std::optional<ChainReceipt>> GetReceipt(std::string_view tx_hash) override {
    return Count("get_receipt", inner_->GetReceipt(tx_hash));
  }

 private:
  absl::Status Note(std::string_view op, absl::Status status) {
    if (status.ok()) return status;
    if (!absl::IsFailedPrecondition(status) && !absl::IsInvalidArgument(status)) {
      failures_.WithLabels({op}).Inc();
    }
    return Scrub(std::move(status));
  }
  template <typename T>
  absl::StatusOr<T> Count(std::string_view op, absl::StatusOr<T> result) {
    if (result.ok()) return result;
    return Note(op, result.status());
  }
  // The status with every occurrence of the RPC URL replaced; code and payloads (the reason)
  // kept.
  absl::Status Scrub(absl::Status status) const {
    std::string message(status.message());
    if (rpc_url_.empty() || message.find(rpc_url_) == std::string::npos) return status;
    for (size_t at; (at = message.find(rpc_url_)) != std::string::npos;) {
      message.replace(at, rpc_url_.size(), "<chain rpc url>");
    }
    absl::Status scrubbed(status.code(), message);
    status.ForEachPayload([&scrubbed](absl::string_view url, const absl::Cord& payload) {
      scrubbed.SetPayload(url, payload);
    });
    return scrubbed;
  }

  std::unique_ptr<ChainGateway> inner_;
  const std::string rpc_url_;
  metrics::CounterFamily& failures_;
};

}  // namespace

class SettlementServer::Impl {
 public:
  explicit Impl(const SettlementConfig& config)
      : config_(config),
        reconciled_(metrics::Registry::Default().AddCounter(
            "p402_settlement_reconciled_total",
            "Submitted payments a reconcile pass settled, failed or rebroadcast")),
        reconcile_failures_(metrics::Registry::Default().AddCounter(
            "p402_settlement_reconcile_failures_total",
            "Reconcile passes that failed (store or chain unavailable)")) {}

  absl::Status Start() {
    const Clock& clock = SystemClock::Get();
    metrics::Registry& registry = metrics::Registry::Default();
    P402_ASSIGN_OR_RETURN(FeeSchedule fees, FeeSchedule::Parse(config_.fee_schedule));
    P402_RETURN_IF_ERROR(StartStores(clock));
    P402_RETURN_IF_ERROR(StartChain(registry));
    // pay_to: configured, else the facilitator's own address, else nothing is offered.
    bool offers_enabled = !config_.pay_to.empty() || chain_ != nullptr;
    evm::Address fallback =
        chain_ != nullptr ? chain_->SignerAddress() : *evm::ParseAddress(kUnconfiguredPayTo);
    P402_ASSIGN_OR_RETURN(PaymentTerms terms, TermsFromConfig(config_, fallback));
    P402_ASSIGN_OR_RETURN(engine_,
                          SettlementEngine::Create(EngineDeps{.terms = terms,
                                                              .fees = fees,
                                                              .payments = payments_.get(),
                                                              .ledger = ledger_.get(),
                                                              .chain = chain_.get(),
                                                              .bazaar = bazaar_store_.get(),
                                                              .clock = &clock}));
    bazaar_ = std::make_unique<Bazaar>(*bazaar_store_, clock);
    P402_ASSIGN_OR_RETURN(
        workers_, store::WorkerPool::Create({.name = "settlement",
                                             .threads = static_cast<int>(config_.worker_threads),
                                             .max_queue = 4096}));
    service_ = std::make_unique<SettlementService>(
        *engine_, *bazaar_, workers_.get(), registry,
        SettlementServiceOptions{.chain_configured = chain_ != nullptr,
                                 .offers_enabled = offers_enabled});
    P402_ASSIGN_OR_RETURN(grpc_, rpc::GrpcServer::Start({.listen = config_.grpc_listen,
                                                         .services = {service_.get()}}));
    P402_ASSIGN_OR_RETURN(admin_, admin::AdminServer::Start({.listen = config_.admin_listen}));
    P402_LOG(kInfo, "settlement terms")
        .Field("chain_id", static_cast<int64_t>(terms.chain_id))
        .Field("asset", evm::ToChecksum(terms.asset))
        .Field("pay_to", offers_enabled ? evm::ToChecksum(terms.pay_to) : std::string("(none)"))
        .Field("settling", chain_ != nullptr)
        .Field("store", config_.database_url.empty() ? "memory" : "postgresql");
    if (!offers_enabled) {
      P402_LOG(kWarn, "no pay_to and no facilitator key: P402 offers no x402 payments");
    }
    if (chain_ != nullptr) {
      reconciler_ = std::thread([this] { ReconcileLoop(); });
    }
    return absl::OkStatus();
  }

  absl::Status StartStores(const Clock& clock) {
    if (config_.database_url.empty()) {
      payments_ = std::make_unique<InMemoryPaymentStore>();
      ledger_ = std::make_unique<InMemoryLedger>(clock);
      bazaar_store_ = std::make_unique<InMemoryBazaarStore>();
      return absl::OkStatus();
    }
    store::PgPoolOptions pool_options;
    pool_options.dsn = config_.database_url;
    pool_options.max_size = static_cast<int>(config_.pg_pool_size);
    P402_ASSIGN_OR_RETURN(pool_, store::PgPool::Create(pool_options));
    P402_ASSIGN_OR_RETURN(payments_, PgPaymentStore::Open(*pool_));
    P402_ASSIGN_OR_RETURN(ledger_, PgLedger::Open(*pool_, clock));
    P402_ASSIGN_OR_RETURN(bazaar_store_, PgBazaarStore::Open(*pool_));
    return absl::OkStatus();
  }

  absl::Status StartChain(metrics::Registry& registry) {
    if (config_.chain_rpc_url.empty()) {
      return absl::OkStatus();
    }
    P402_ASSIGN_OR_RETURN(auto key, ParseFacilitatorKey(config_.facilitator_key));
    EvmChainGatewayOptions options;
    options.rpc_url = config_.chain_rpc_url;
    options.signer_private_key = key;
    options.rpc_timeout = config_.chain_rpc_timeout;
    P402_ASSIGN_OR_RETURN(std::unique_ptr<EvmChainGateway> gateway,
                          EvmChainGateway::Create(std::move(options)));
    chain_ =
        std::make_unique<CountingChainGateway>(std::move(gateway), config_.chain_rpc_url, registry);
    absl::StatusOr<uint64_t> chain_id = chain_->ChainId();
    if (chain_id.ok() && *chain_id != static_cast<uint64_t>(config_.chain_id)) {
      return FailedPrecondition("the chain RPC serves chain id " + std::to_string(*chain_id) +
                                ", but chain_id is " + std::to_string(config_.chain_id));
    }
    if (!chain_id.ok()) {
      // Like a database that is down: the service starts and fails closed per call until the
      // node answers (the URL is a secret: not logged).
      P402_LOG(kWarn, "the chain RPC is unreachable; payments fail closed until it is back")
          .Field("error", MessageOf(chain_id.status()));
    }
    P402_LOG(kInfo, "facilitator signer")
        .Field("address", evm::ToChecksum(chain_->SignerAddress()));
    return absl::OkStatus();
  }

  void ReconcileLoop() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                 absl::Milliseconds(config_.reconcile_interval.count()))) {
      mu_.Unlock();
      absl::StatusOr<int> changed = engine_->ReconcileSubmitted();
      if (!changed.ok()) {
        reconcile_failures_.Inc();
        P402_LOG(kWarn, "reconcile of submitted payments failed")
            .Field("error", MessageOf(changed.status()));
      } else if (*changed > 0) {
        reconciled_.Inc(*changed);
        P402_LOG(kInfo, "submitted payments reconciled").Field("count", *changed);
      }
      mu_.Lock();
    }
  }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (reconciler_.joinable()) reconciler_.join();
    if (admin_) admin_->SetReady(false);
    if (grpc_) grpc_->Shutdown();
    if (workers_) workers_->Shutdown();
    if (admin_) admin_->Shutdown();
  }

  SettlementConfig config_;
  metrics::Counter& reconciled_;
  metrics::Counter& reconcile_failures_;
  std::unique_ptr<store::PgPool> pool_;
  std::unique_ptr<PaymentStore> payments_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<BazaarStore> bazaar_store_;
  std::unique_ptr<ChainGateway> chain_;
  std::unique_ptr<SettlementEngine> engine_;
  std::unique_ptr<Bazaar> bazaar_;
  std::unique_ptr<store::WorkerPool> workers_;
  std::unique_ptr<SettlementService> service_;
  std::unique_ptr<rpc::GrpcServer> grpc_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::thread reconciler_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<SettlementServer>> SettlementServer::Start(
    const SettlementConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  if (absl::Status s = impl->Start(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<SettlementServer>(new SettlementServer(std::move(impl)));
}

SettlementServer::SettlementServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SettlementServer::~SettlementServer() { Shutdown(); }

std::map<std::string, int> SettlementServer::ports() const {
  return {{"grpc_port", impl_->grpc_->port()}, {"admin_port", impl_->admin_->port()}};
}
void SettlementServer::SetReady(bool ready) { impl_->admin_->SetReady(ready); }
void SettlementServer::Shutdown() { impl_->Shutdown(); }

}  // namespace p402::settlement
