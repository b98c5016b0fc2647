#include "services/policy/rpc/policy_service.h"

#include <chrono>
#include <string>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/rpc/status_convert.h"

namespace p402::policy {

PolicyService::PolicyService(Guard& guard, TenantAdmin& tenants, PolicyAdmin& policies,
                             SessionAdmin& sessions, store::WorkerPool* workers,
                             metrics::Registry& registry)
    : guard_(guard),
      tenants_(tenants),
      policies_(policies),
      sessions_(sessions),
      workers_(workers),
      rpcs_(registry.AddCounterFamily("p402_policy_rpcs_total", "Policy RPCs by method and code",
                                      {"rpc", "code"})),
      decisions_(registry.AddCounterFamily("p402_policy_decisions_total",
                                           "Authorize outcomes by decision", {"decision"})),
      failed_open_(registry.AddCounterFamily(
          "p402_policy_guard_layer_failed_open_total",
          "Guard layers (1-4) that let a request through because their counter store was "
          "unavailable",
          {"layer"})),
      shed_(registry.AddCounter("p402_policy_shed_total",
                                "Calls refused because the worker queue was full")),
      abandoned_(registry.AddCounter(
          "p402_policy_abandoned_admissions_total",
          "Admissions released at once because the caller gave up before the decision")) {}

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* PolicyService::Run(std::string_view rpc, grpc::CallbackServerContext* ctx,
                                             const Req* req, Resp* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto work = [this, rpc, ctx, reactor, req, resp, fn]() {
    absl::StatusOr<Resp> result;
    if (CallerGone(ctx)) {
      // Queued behind a slow store (e.g. a stalled database) past the caller's deadline: the
      // caller has already given up, so doing the work could only hold budget nobody will use.
      result = WithReason(DeadlineExceeded("the caller's deadline passed while the call was queued"),
                          "caller_gone");
    } else {
      try {
        result = fn(*req);
      } catch (const std::exception& e) {
        result = Internal(std::string("policy: unexpected exception: ") + e.what());
      }
    }
    std::string code = absl::StatusCodeToString(result.status().code());
    rpcs_.WithLabels({rpc, std::string_view(code)}).Inc();
    if (result.ok()) {
      *resp = std::move(*result);
    }
    reactor->Finish(rpc::ToGrpcStatus(result.status()));
  };
  if (workers_ == nullptr) {
    work();
  } else if (!workers_->Submit(std::move(work))) {
    shed_.Inc();
    reactor->Finish(rpc::ToGrpcStatus(
        WithReason(Unavailable("policy service overloaded; retry"), "policy_overloaded")));
  }
  return reactor;
}

bool PolicyService::CallerGone(grpc::CallbackServerContext* ctx) {
  return ctx->IsCancelled() || ctx->deadline() <= std::chrono::system_clock::now();
}

void PolicyService::CountAuthorize(const v1::AuthorizeResponse& response) {
  decisions_.WithLabels({v1::GuardDecision_Name(response.decision())}).Inc();
  for (const v1::GuardLayerResult& layer : response.layers()) {
    if (layer.failed_open()) {
      failed_open_.WithLabels({layer.layer()}).Inc();
    }
  }
}

grpc::ServerUnaryReactor* PolicyService::Authorize(grpc::CallbackServerContext* ctx,
                                                   const v1::AuthorizeRequest* req,
                                                   v1::AuthorizeResponse* resp) {
  return Run("Authorize", ctx, req, resp,
             [this, ctx](const v1::AuthorizeRequest& r) -> absl::StatusOr<v1::AuthorizeResponse> {
               auto result = guard_.Authorize(r);
               if (!result.ok()) {
                 return result;
               }
               CountAuthorize(*result);
               if (result->has_reservation() && !result->reservation().id().empty() &&
                   CallerGone(ctx)) {
                 // The caller timed out while the guard was deciding (a slow store): nobody will
                 // commit or release this admission, so return its budget (and concurrency slot)
                 // now instead of holding them until the reservation expires.
                 ReleaseAbandoned(r, result->reservation().id());
                 return WithReason(DeadlineExceeded("the caller gave up before the decision"),
                                   "caller_gone");
               }
               return result;
             });
}

void PolicyService::ReleaseAbandoned(const v1::AuthorizeRequest& request,
                                     const std::string& reservation_id) {
  v1::ReleaseRequest release;
  *release.mutable_meta() = request.meta();
  release.set_reservation_id(reservation_id);
  release.set_reason("caller_gone");
  absl::StatusOr<v1::ReleaseResponse> released = guard_.Release(release);
  abandoned_.Inc();
  if (!released.ok()) {
    // The hold is not lost: the expiry sweep returns it after the TTL.
    P402_LOG(kWarn, "could not release the reservation of an abandoned Authorize")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", reservation_id)
        .Field("error", MessageOf(released.status()));
  }
}

// The remaining RPCs forward to one core method each.
#define P402_POLICY_RPC(Method, core)                                                      \
  grpc::ServerUnaryReactor* PolicyService::Method(grpc::CallbackServerContext* ctx,        \
                                                  const v1::Method##Request* req,          \
                                                  v1::Method##Response* resp) {            \
    return Run(#Method, ctx, req, resp, [this](const auto& r) { return core.Method(r); }); \
  }

P402_POLICY_RPC(Commit, guard_)
P402_POLICY_RPC(Release, guard_)
P402_POLICY_RPC(CheckReservation, guard_)
P402_POLICY_RPC(CreateTenant, tenants_)
P402_POLICY_RPC(GetTenant, tenants_)
P402_POLICY_RPC(UpdateTenant, tenants_)
P402_POLICY_RPC(SetTenantPaused, tenants_)
P402_POLICY_RPC(Authenticate, tenants_)
P402_POLICY_RPC(CreateApiKey, tenants_)
P402_POLICY_RPC(ListApiKeys, tenants_)
P402_POLICY_RPC(RevokeApiKey, tenants_)
P402_POLICY_RPC(CreatePolicy, policies_)
P402_POLICY_RPC(GetPolicy, policies_)
P402_POLICY_RPC(ListPolicies, policies_)
P402_POLICY_RPC(UpdatePolicy, policies_)
P402_POLICY_RPC(DeletePolicy, policies_)
P402_POLICY_RPC(CreateSession, sessions_)
P402_POLICY_RPC(GetSession, sessions_)
P402_POLICY_RPC(ListSessions, sessions_)
P402_POLICY_RPC(UpdateSession, sessions_)
P402_POLICY_RPC(RevokeSession, sessions_)
P402_POLICY_RPC(GetApproval, sessions_)
P402_POLICY_RPC(ListApprovals, sessions_)
P402_POLICY_RPC(DecideApproval, sessions_)

#undef P402_POLICY_RPC

}  // namespace p402::policy
