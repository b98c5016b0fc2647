#include "services/settlement/rpc/settlement_service.h"

#include <chrono>
#include <string>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/rpc/status_convert.h"

namespace p402::settlement {
namespace {

absl::Status NotConfigured(std::string_view message) {
  return WithReason(FailedPrecondition(message), "settlement_not_configured");
}

std::string_view OrNone(const std::string& reason) {
  return reason.empty() ? std::string_view("none") : std::string_view(reason);
}

}  // namespace

SettlementService::SettlementService(SettlementEngine& engine, Bazaar& bazaar,
                                     store::WorkerPool* workers, metrics::Registry& registry,
                                     SettlementServiceOptions options)
    : engine_(engine),
      bazaar_(bazaar),
      workers_(workers),
      options_(options),
      requests_(registry.AddCounterFamily("p402_settlement_requests_total",
                                          "Settlement RPCs by method and gRPC code",
                                          {"rpc", "code"})),
      latency_(registry.AddHistogramFamily(
          "p402_settlement_request_duration_seconds",
          "Settlement RPC latency from arrival to answer (queueing included)", {"rpc"})),
      verify_(registry.AddCounterFamily("p402_settlement_verify_total",
                                        "VerifyPayment answers by result and x402 reason",
                                        {"result", "reason"})),
      settle_(registry.AddCounterFamily(
          "p402_settlement_settle_total",
          "SettlePayment outcomes: settled, duplicate, pending, failed (x402 reason) or error "
          "(the call failed; reason = its reason or gRPC code)",
          {"result", "reason"})),
      shed_(registry.AddCounter("p402_settlement_shed_total",
                                "Calls refused because the worker queue was full")),
      abandoned_(registry.AddCounter(
          "p402_settlement_abandoned_claims_total",
          "Payment claims released at once because the caller gave up during VerifyPayment")) {}

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* SettlementService::Run(std::string_view rpc,
                                                 grpc::CallbackServerContext* ctx, const Req* req,
                                                 Resp* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto started = std::chrono::steady_clock::now();
  auto work = [this, rpc, ctx, reactor, req, resp, fn, started]() {
    absl::StatusOr<Resp> result;
    if (CallerGone(ctx)) {
      // Queued behind slow work (a stalled database or chain node) past the caller's deadline:
      // nobody waits for the answer, so do not claim, settle or append anything for it.
      result =
          WithReason(DeadlineExceeded("the caller's deadline passed while the call was queued"),
                     "caller_gone");
    } else {
      try {
        result = fn(*req);
      } catch (const std::exception& e) {
        result = Internal(std::string("settlement: unexpected exception: ") + e.what());
      }
    }
    std::string code = absl::StatusCodeToString(result.status().code());
    requests_.WithLabels({rpc, std::string_view(code)}).Inc();
    latency_.WithLabels({rpc}).Observe(std::chrono::steady_clock::now() - started);
    if (result.ok()) {
      *resp = std::move(*result);
    }
    reactor->Finish(rpc::ToGrpcStatus(result.status()));
  };
  if (workers_ == nullptr) {
    work();
  } else if (!workers_->Submit(std::move(work))) {
    shed_.Inc();
    requests_.WithLabels({rpc, "UNAVAILABLE"}).Inc();
    reactor->Finish(rpc::ToGrpcStatus(
        WithReason(Unavailable("settlement service overloaded; retry"), "settlement_overloaded")));
  }
  return reactor;
}

bool SettlementService::CallerGone(grpc::CallbackServerContext* ctx) {
  return ctx->IsCancelled() || ctx->deadline() <= std::chrono::system_clock::now();
}

void SettlementService::CountVerify(const v1::VerifyPaymentResponse& response) {
  verify_.WithLabels({response.valid() ? "valid" : "invalid", OrNone(response.invalid_reason())})
      .Inc();
}

void SettlementService::CountSettle(const absl::StatusOr<v1::SettlePaymentResponse>& result) {
  if (!result.ok()) {
    std::string reason =
        ReasonOf(result.status()).value_or(absl::StatusCodeToString(result.status().code()));
    settle_.WithLabels({"error", std::string_view(reason)}).Inc();
    return;
  }
  std::string_view outcome = "failed";
  if (result->success()) {
    outcome = result->duplicate() ? "duplicate" : "settled";
  } else if (result->error_reason() == "settlement_pending") {
    outcome = "pending";
  }
  settle_.WithLabels({outcome, OrNone(result->error_reason())}).Inc();
}

void SettlementService::ReleaseAbandoned(const v1::VerifyPaymentRequest& request) {
  v1::ReleasePaymentRequest release;
  *release.mutable_meta() = request.meta();
  release.set_payment_payload_json(request.payment_payload_json());
  release.set_reason("caller_gone");
  absl::StatusOr<v1::ReleasePaymentResponse> released = engine_.ReleasePayment(release);
  abandoned_.Inc();
  if (!released.ok()) {
    // The claim stays until the authorization's validBefore makes it worthless; the payer can
    // sign a new one.
    P402_LOG(kWarn, "could not release the claim of an abandoned VerifyPayment")
        .RequestId(request.meta().request_id())
        .Field("error", MessageOf(released.status()));
  }
}

grpc::ServerUnaryReactor* SettlementService::GetPaymentRequirements(
    grpc::CallbackServerContext* ctx, const v1::GetPaymentRequirementsRequest* req,
    v1::GetPaymentRequirementsResponse* resp) {
  return Run("GetPaymentRequirements", ctx, req, resp,
             [this](const v1::GetPaymentRequirementsRequest& r)
                 -> absl::StatusOr<v1::GetPaymentRequirementsResponse> {
               if (!options_.offers_enabled) {
                 return NotConfigured(
                     "no wallet to be paid to: set P402_SETTLEMENT_PAY_TO (or a facilitator key "
                     "and chain RPC URL)");
               }
               return engine_.GetPaymentRequirements(r);
             });
}

grpc::ServerUnaryReactor* SettlementService::VerifyPayment(grpc::CallbackServerContext* ctx,
                                                           const v1::VerifyPaymentRequest* req,
                                                           v1::VerifyPaymentResponse* resp) {
  return Run(
      "VerifyPayment", ctx, req, resp,
      [this, ctx](const v1::VerifyPaymentRequest& r) -> absl::StatusOr<v1::VerifyPaymentResponse> {
        absl::StatusOr<v1::VerifyPaymentResponse> result = engine_.VerifyPayment(r);
        if (!result.ok()) return result;
        CountVerify(*result);
        if (r.claim() && result->valid() && CallerGone(ctx)) {
          // The caller timed out while the payment was being checked (a slow chain node):
          // nobody will settle or release this claim, so drop it now instead of locking
          // the payer's authorization until it expires.
          ReleaseAbandoned(r);
          return WithReason(DeadlineExceeded("the caller gave up before the answer"),
                            "caller_gone");
        }
        return result;
      });
}

grpc::ServerUnaryReactor* SettlementService::SettlePayment(grpc::CallbackServerContext* ctx,
                                                           const v1::SettlePaymentRequest* req,
                                                           v1::SettlePaymentResponse* resp) {
  return Run(
      "SettlePayment", ctx, req, resp,
      [this](const v1::SettlePaymentRequest& r) -> absl::StatusOr<v1::SettlePaymentResponse> {
        absl::StatusOr<v1::SettlePaymentResponse> result =
            options_.chain_configured
                ? engine_.SettlePayment(r)
                : absl::StatusOr<v1::SettlePaymentResponse>(
                      NotConfigured("settling needs a chain: set P402_SETTLEMENT_CHAIN_RPC_URL and "
                                    "P402_SETTLEMENT_FACILITATOR_KEY"));
        CountSettle(result);
        return result;
      });
}

grpc::ServerUnaryReactor* SettlementService::TopUp(grpc::CallbackServerContext* ctx,
                                                   const v1::TopUpRequest* req,
                                                   v1::TopUpResponse* resp) {
  return Run("TopUp", ctx, req, resp,
             [this](const v1::TopUpRequest& r) -> absl::StatusOr<v1::TopUpResponse> {
               // Checked here too: without a chain the core is not reached.
               if (r.meta().tenant_id().empty()) {
                 return InvalidArgument("meta.tenant_id is required");
               }
               if (!options_.chain_configured) {
                 return NotConfigured(
                     "top-ups settle on chain: set P402_SETTLEMENT_CHAIN_RPC_URL and "
                     "P402_SETTLEMENT_FACILITATOR_KEY");
               }
               return engine_.TopUp(r);
             });
}

grpc::ServerUnaryReactor* SettlementService::RecordUsage(grpc::CallbackServerContext* ctx,
                                                         const v1::RecordUsageRequest* req,
                                                         v1::RecordUsageResponse* resp) {
  return Run("RecordUsage", ctx, req, resp,
             [this](const v1::RecordUsageRequest& r) { return engine_.RecordUsage(r); });
}

grpc::ServerUnaryReactor* SettlementService::GetBalance(grpc::CallbackServerContext* ctx,
                                                        const v1::GetBalanceRequest* req,
                                                        v1::GetBalanceResponse* resp) {
  return Run("GetBalance", ctx, req, resp,
             [this](const v1::GetBalanceRequest& r) { return engine_.GetBalance(r); });
}

grpc::ServerUnaryReactor* SettlementService::ListUsage(grpc::CallbackServerContext* ctx,
                                                       const v1::ListUsageRequest* req,
                                                       v1::ListUsageResponse* resp) {
  return Run("ListUsage", ctx, req, resp,
             [this](const v1::ListUsageRequest& r) { return engine_.ListUsage(r); });
}

grpc::ServerUnaryReactor* SettlementService::HoldBalance(grpc::CallbackServerContext* ctx,
                                                         const v1::HoldBalanceRequest* req,
                                                         v1::HoldBalanceResponse* resp) {
  return Run("HoldBalance", ctx, req, resp,
             [this](const v1::HoldBalanceRequest& r) { return engine_.HoldBalance(r); });
}

grpc::ServerUnaryReactor* SettlementService::CaptureHold(grpc::CallbackServerContext* ctx,
                                                         const v1::CaptureHoldRequest* req,
                                                         v1::CaptureHoldResponse* resp) {
  return Run("CaptureHold", ctx, req, resp,
             [this](const v1::CaptureHoldRequest& r) { return engine_.CaptureHold(r); });
}

grpc::ServerUnaryReactor* SettlementService::ReleaseHold(grpc::CallbackServerContext* ctx,
                                                         const v1::ReleaseHoldRequest* req,
                                                         v1::ReleaseHoldResponse* resp) {
  return Run("ReleaseHold", ctx, req, resp,
             [this](const v1::ReleaseHoldRequest& r) { return engine_.ReleaseHold(r); });
}

grpc::ServerUnaryReactor* SettlementService::ReleasePayment(grpc::CallbackServerContext* ctx,
                                                            const v1::ReleasePaymentRequest* req,
                                                            v1::ReleasePaymentResponse* resp) {
  return Run("ReleasePayment", ctx, req, resp,
             [this](const v1::ReleasePaymentRequest& r) { return engine_.ReleasePayment(r); });
}

grpc::ServerUnaryReactor* SettlementService::GetSupported(grpc::CallbackServerContext* ctx,
                                                          const v1::GetSupportedRequest* req,
                                                          v1::GetSupportedResponse* resp) {
  return Run("GetSupported", ctx, req, resp,
             [this](const v1::GetSupportedRequest&) -> absl::StatusOr<v1::GetSupportedResponse> {
               return engine_.GetSupported();
             });
}

grpc::ServerUnaryReactor* SettlementService::CreateListing(grpc::CallbackServerContext* ctx,
                                                           const v1::CreateListingRequest* req,
                                                           v1::CreateListingResponse* resp) {
  return Run("CreateListing", ctx, req, resp,
             [this](const v1::CreateListingRequest& r)
                 -> absl::StatusOr<v1::CreateListingResponse> {
               absl::StatusOr<v1::Listing> listing = bazaar_.Create(r);
               if (!listing.ok()) return listing.status();
               v1::CreateListingResponse out;
               *out.mutable_listing() = std::move(*listing);
               return out;
             });
}

grpc::ServerUnaryReactor* SettlementService::ListListings(grpc::CallbackServerContext* ctx,
                                                          const v1::ListListingsRequest* req,
                                                          v1::ListListingsResponse* resp) {
  return Run("ListListings", ctx, req, resp,
             [this](const v1::ListListingsRequest& r) { return bazaar_.List(r); });
}

grpc::ServerUnaryReactor* SettlementService::DiscoverListings(
    grpc::CallbackServerContext* ctx, const v1::DiscoverListingsRequest* req,
    v1::DiscoverListingsResponse* resp) {
  return Run("DiscoverListings", ctx, req, resp,
             [this](const v1::DiscoverListingsRequest& r)
                 -> absl::StatusOr<v1::DiscoverListingsResponse> {
               absl::StatusOr<v1::ListListingsResponse> found = bazaar_.Discover(r);
               if (!found.ok()) return found.status();
               v1::DiscoverListingsResponse out;
               *out.mutable_listings() = std::move(*found->mutable_listings());
               return out;
             });
}

}  // namespace p402::settlement
