// File: services/settlement/rpc/settlement_service.h
// The gRPC adapter of the settlement service (callback API, proto/p402/v1/settlement.proto): each
// RPC calls exactly one core method (SettlementEngine or Bazaar), converts the status
// (libs/rpc/status_convert.h: reason codes travel as ErrorInfo) and counts the outcome. The core
// blocks on the stores and the chain (a settlement waits for its receipt), so every call runs on a
// bounded worker pool: a full queue is shed with UNAVAILABLE "settlement_overloaded", and a call
// still queued when its caller's deadline passed is dropped (DEADLINE_EXCEEDED "caller_gone")
// without touching anything. A VerifyPayment(claim=true) whose caller gave up while it ran has its
// claim released at once, so the payment can be presented again.
//
// Rules enforced here (composition facts the core does not know):
//   - without a chain (options.chain_configured = false) SettlePayment and TopUp answer
//     FAILED_PRECONDITION "settlement_not_configured" without calling the core;
//   - without a pay_to (options.offers_enabled = false) GetPaymentRequirements answers
//     FAILED_PRECONDITION "settlement_not_configured" (P402 has no wallet to be paid to).
//
// Metrics (on `registry`):
//   p402_settlement_requests_total{rpc,code}          every call, by gRPC code name
//   p402_settlement_request_duration_seconds{rpc}      from arrival to answer (queueing included)
//   p402_settlement_verify_total{result,reason}        VerifyPayment answers: valid | invalid
//   p402_settlement_settle_total{result,reason}        SettlePayment: settled | duplicate | pending
//                                                      | failed | error (call failed: the code)
//   p402_settlement_shed_total                         calls refused: worker queue full
//   p402_settlement_abandoned_claims_total             claims released because the caller left
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "libs/metrics/registry.h"
#include "libs/store/worker_pool.h"
#include "p402/v1/settlement.grpc.pb.h"
#include "services/settlement/core/bazaar.h"
#include "services/settlement/core/settlement_engine.h"

namespace p402::settlement {

struct SettlementServiceOptions {
  // A chain RPC and a facilitator key are configured: SettlePayment / TopUp can settle.
  bool chain_configured = false;
  // A pay_to is configured: GetPaymentRequirements may offer payments.
  bool offers_enabled = true;
};

class SettlementService final : public v1::Settlement::CallbackService {
 public:
  // `workers` may be null (calls then run inline on the gRPC thread: tests only). All references
  // must outlive the service.
  SettlementService(SettlementEngine& engine, Bazaar& bazaar, store::WorkerPool* workers,
                    metrics::Registry& registry, SettlementServiceOptions options);

  grpc::ServerUnaryReactor* GetPaymentRequirements(
      grpc::CallbackServerContext* ctx, const v1::GetPaymentRequirementsRequest* req,
      v1::GetPaymentRequirementsResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyPayment(grpc::CallbackServerContext* ctx,
                                          const v1::VerifyPaymentRequest* req,
                                          v1::VerifyPaymentResponse* resp) override;
  grpc::ServerUnaryReactor* SettlePayment(grpc::CallbackServerContext* ctx,
                                          const v1::SettlePaymentRequest* req,
                                          v1::SettlePaymentResponse* resp) override;
  grpc::ServerUnaryReactor* ReleasePayment(grpc::CallbackServerContext* ctx,
                                           const v1::ReleasePaymentRequest* req,
                                           v1::ReleasePaymentResponse* resp) override;
  grpc::ServerUnaryReactor* GetSupported(grpc::CallbackServerContext* ctx,
                                         const v1::GetSupportedRequest* req,
                                         v1::GetSupportedResponse* resp) override;
  grpc::ServerUnaryReactor* TopUp(grpc::CallbackServerContext* ctx, const v1::TopUpRequest* req,
                                  v1::TopUpResponse* resp) override;
  grpc::ServerUnaryReactor* HoldBalance(grpc::CallbackServerContext* ctx,
                                        const v1::HoldBalanceRequest* req,
                                        v1::HoldBalanceResponse* resp) override;
  grpc::ServerUnaryReactor* CaptureHold(grpc::CallbackServerContext* ctx,
                                        const v1::CaptureHoldRequest* req,
                                        v1::CaptureHoldResponse* resp) override;
  grpc::ServerUnaryReactor* ReleaseHold(grpc::CallbackServerContext* ctx,
                                        const v1::ReleaseHoldRequest* req,
                                        v1::ReleaseHoldResponse* resp) override;
  grpc::ServerUnaryReactor* RecordUsage(grpc::CallbackServerContext* ctx,
                                        const v1::RecordUsageRequest* req,
                                        v1::RecordUsageResponse* resp) override;
  grpc::ServerUnaryReactor* GetBalance(grpc::CallbackServerContext* ctx,
                                       const v1::GetBalanceRequest* req,
                                       v1::GetBalanceResponse* resp) override;
  grpc::ServerUnaryReactor* ListUsage(grpc::CallbackServerContext* ctx,
                                      const v1::ListUsageRequest* req,
                                      v1::ListUsageResponse* resp) override;
  grpc::ServerUnaryReactor* CreateListing(grpc::CallbackServerContext* ctx,
                                          const v1::CreateListingRequest* req,
                                          v1::CreateListingResponse* resp) override;
  grpc::ServerUnaryReactor* ListListings(grpc::CallbackServerContext* ctx,
                                         const v1::ListListingsRequest* req,
                                         v1::ListListingsResponse* resp) override;
  grpc::ServerUnaryReactor* DiscoverListings(grpc::CallbackServerContext* ctx,
                                             const v1::DiscoverListingsRequest* req,
                                             v1::DiscoverListingsResponse* resp) override;

 private:
  template <typename Req, typename Resp, typename Fn>
  grpc::ServerUnaryReactor* Run(std::string_view rpc, grpc::CallbackServerContext* ctx,
                                const Req* req, Resp* resp, Fn fn);
  // True once the caller cancelled or its deadline passed.
  static bool CallerGone(grpc::CallbackServerContext* ctx);
  void CountVerify(const v1::VerifyPaymentResponse& response);
  void CountSettle(const absl::StatusOr<v1::SettlePaymentResponse>& result);
  // Releases the claim of a VerifyPayment whose caller gave up (logs a failure).
  void ReleaseAbandoned(const v1::VerifyPaymentRequest& request);

  SettlementEngine& engine_;
  Bazaar& bazaar_;
  store::WorkerPool* workers_;
  const SettlementServiceOptions options_;
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily& latency_;
  metrics::CounterFamily& verify_;
  metrics::CounterFamily& settle_;
  metrics::Counter& shed_;
  metrics::Counter& abandoned_;
};

}  // namespace p402::settlement
