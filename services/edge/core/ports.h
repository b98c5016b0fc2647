// File: services/edge/core/ports.h
// What the edge core needs from the other services, as narrow asynchronous interfaces. The gRPC
// implementations live in services/edge/clients/; tests use in-process fakes. Callbacks run on a
// gRPC thread (or inline in fakes) and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "p402/v1/router.pb.h"
#include "p402/v1/settlement.pb.h"

namespace p402::edge {

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

// The billing guard. A non-OK status means the guard could not decide (the edge fails closed).
// Every method calls `done` exactly once. Thread-safe.
class PolicyClient {
 public:
  virtual ~PolicyClient() = default;
  virtual void Authorize(const v1::AuthorizeRequest& request,
                         Callback<v1::AuthorizeResponse> done) = 0;
  virtual void Commit(const v1::CommitRequest& request, Callback<v1::CommitResponse> done) = 0;
  virtual void Release(const v1::ReleaseRequest& request, Callback<v1::ReleaseResponse> done) = 0;
  // The state of an approval a held request waits for (polled while it is PENDING). Errors:
  // NotFound "approval_not_found", Unavailable. `request_id` goes out as x-request-id.
  virtual void GetApproval(std::string_view request_id, const v1::GetApprovalRequest& request,
                           Callback<v1::GetApprovalResponse> done) = 0;
  // Whether an admitted request may keep spending (polled while a session's stream runs).
  // Errors: Unavailable (the edge then keeps streaming: the reservation still caps the spend).
  virtual void CheckReservation(std::string_view request_id,
                                const v1::CheckReservationRequest& request,
                                Callback<v1::CheckReservationResponse> done) = 0;
};

// Runs callbacks later: the waits of a request held for approval, the periodic reservation
// checks and the expiry cut of a session's stream. Callbacks run on a thread of the scheduler,
// never inline in RunAfter, one at a time; they must be short and must not block. Thread-safe.
class Scheduler {
 public:
  using TimerId = uint64_t;
  virtual ~Scheduler() = default;
  // Runs `fn` once `delay` has passed (<= 0: as soon as possible). Returns an id for Cancel,
  // never 0.
  virtual TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // Drops a callback that has not started yet (destroying it); unknown or already-run ids are
  // ignored.
  virtual void Cancel(TimerId id) = 0;
};

// Receives the events of one StreamRoute call, in order, never concurrently.
class RouteStreamObserver {
 public:
  virtual ~RouteStreamObserver() = default;
  virtual void OnEvent(const v1::StreamRouteResponse& event) = 0;
  // Exactly once, last. OK after the router ended the stream normally (the StreamEnd event was
  // delivered); otherwise why the stream failed.
  virtual void OnDone(absl::Status status) = 0;
};

class RouteStream {
 public:
  virtual ~RouteStream() = default;
  // Cancels the call (client went away); OnDone still follows. Thread-safe, idempotent.
  virtual void Cancel() = 0;
};

class RouterClient {
 public:
  virtual ~RouterClient() = default;
  virtual void Route(const v1::RouteRequest& request, Callback<v1::RouteResponse> done) = 0;
  virtual std::shared_ptr<RouteStream> StreamRoute(
      const v1::RouteRequest& request, std::shared_ptr<RouteStreamObserver> observer) = 0;
  // Blocking; used at startup and by the background catalog refresh, never on the request path.
  virtual absl::StatusOr<v1::ListModelsResponse> ListModels() = 0;
  // Worst-case cost of a request per routing mode (the x402 offers). Not every fake needs it.
  virtual void Quote(const v1::QuoteRequest& request, Callback<v1::QuoteResponse> done) {
    done(absl::UnimplementedError("Quote"));
  }
};

// The settlement service (x402 payments, ledger, Bazaar). Unary calls, one `done` each, on a gRPC
// thread. A non-OK status means the call failed (Unavailable: service down -- the edge then fails
// closed for payments: no unverified request is served, nothing is charged); invalid payments are
// answers (valid=false / success=false). `request_id` goes out as x-request-id. Thread-safe.
class SettlementClient {
 public:
  virtual ~SettlementClient() = default;
  virtual void GetPaymentRequirements(const v1::GetPaymentRequirementsRequest& request,
                                      Callback<v1::GetPaymentRequirementsResponse> done) = 0;
  virtual void VerifyPayment(const v1::VerifyPaymentRequest& request,
                             Callback<v1::VerifyPaymentResponse> done) = 0;
  virtual void SettlePayment(const v1::SettlePaymentRequest& request,
                             Callback<v1::SettlePaymentResponse> done) = 0;
  virtual void ReleasePayment(const v1::ReleasePaymentRequest& request,
                              Callback<v1::ReleasePaymentResponse> done) = 0;
  virtual void GetSupported(Callback<v1::GetSupportedResponse> done) = 0;
  virtual void TopUp(const v1::TopUpRequest& request, Callback<v1::TopUpResponse> done) = 0;
  virtual void RecordUsage(const v1::RecordUsageRequest& request,
                           Callback<v1::RecordUsageResponse> done) = 0;
  virtual void GetBalance(const v1::GetBalanceRequest& request,
                          Callback<v1::GetBalanceResponse> done) = 0;
  virtual void ListUsage(const v1::ListUsageRequest& request,
                         Callback<v1::ListUsageResponse> done) = 0;
  virtual void CreateListing(const v1::CreateListingRequest& request,
                             Callback<v1::CreateListingResponse> done) = 0;
  virtual void ListListings(const v1::ListListingsRequest& request,
                            Callback<v1::ListListingsResponse> done) = 0;
  virtual void DiscoverListings(const v1::DiscoverListingsRequest& request,
                                Callback<v1::DiscoverListingsResponse> done) = 0;
  // Prepaid spending: hold before dispatch, then capture the actual cost or release the hold.
  virtual void HoldBalance(const v1::HoldBalanceRequest& request,
                           Callback<v1::HoldBalanceResponse> done) = 0;
  virtual void CaptureHold(const v1::CaptureHoldRequest& request,
                           Callback<v1::CaptureHoldResponse> done) = 0;
  virtual void ReleaseHold(const v1::ReleaseHoldRequest& request,
                           Callback<v1::ReleaseHoldResponse> done) = 0;
};

}  // namespace p402::edge
