#include "services/policy/rpc/policy_service.h"

#include <string>

#include "libs/common/status_util.h"
#include "libs/rpc/status_convert.h"

namespace p402::policy {

PolicyService::PolicyService(Guard& guard, TenantAdmin& admin, store::WorkerPool* workers,
                             metrics::Registry& registry)
    : guard_(guard),
      admin_(admin),
      workers_(workers),
      rpcs_(registry.AddCounterFamily("p402_policy_rpcs_total", "Policy RPCs by method and code",
                                      {"rpc", "code"})),
      decisions_(registry.AddCounterFamily("p402_policy_decisions_total",
                                           "Authorize outcomes by decision", {"decision"})),
      shed_(registry.AddCounter("p402_policy_shed_total",
                                "Calls refused because the worker queue was full")) {}

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* PolicyService::Run(std::string_view rpc,
                                             grpc::CallbackServerContext* ctx, const Req* req,
                                             Resp* resp, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto work = [this, rpc, reactor, req, resp, fn]() {
    absl::StatusOr<Resp> result;
    try {
      result = fn(*req);
    } catch (const std::exception& e) {
      result = Internal(std::string("policy: unexpected exception: ") + e.what());
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

grpc::ServerUnaryReactor* PolicyService::Authorize(grpc::CallbackServerContext* ctx,
                                                   const v1::AuthorizeRequest* req,
                                                   v1::AuthorizeResponse* resp) {
  return Run("Authorize", ctx, req, resp, [this](const v1::AuthorizeRequest& r) {
    auto result = guard_.Authorize(r);
    if (result.ok()) {
      decisions_.WithLabels({v1::GuardDecision_Name(result->decision())}).Inc();
    }
    return result;
  });
}

grpc::ServerUnaryReactor* PolicyService::Commit(grpc::CallbackServerContext* ctx,
                                                const v1::CommitRequest* req,
                                                v1::CommitResponse* resp) {
  return Run("Commit", ctx, req, resp, [this](const auto& r) { return guard_.Commit(r); });
}

grpc::ServerUnaryReactor* PolicyService::Release(grpc::CallbackServerContext* ctx,
                                                 const v1::ReleaseRequest* req,
                                                 v1::ReleaseResponse* resp) {
  return Run("Release", ctx, req, resp, [this](const auto& r) { return guard_.Release(r); });
}

grpc::ServerUnaryReactor* PolicyService::CreateTenant(grpc::CallbackServerContext* ctx,
                                                      const v1::CreateTenantRequest* req,
                                                      v1::CreateTenantResponse* resp) {
  return Run("CreateTenant", ctx, req, resp,
             [this](const auto& r) { return admin_.CreateTenant(r); });
}

grpc::ServerUnaryReactor* PolicyService::GetTenant(grpc::CallbackServerContext* ctx,
                                                   const v1::GetTenantRequest* req,
                                                   v1::GetTenantResponse* resp) {
  return Run("GetTenant", ctx, req, resp, [this](const auto& r) { return admin_.GetTenant(r); });
}

grpc::ServerUnaryReactor* PolicyService::CreateApiKey(grpc::CallbackServerContext* ctx,
                                                      const v1::CreateApiKeyRequest* req,
                                                      v1::CreateApiKeyResponse* resp) {
  return Run("CreateApiKey", ctx, req, resp,
             [this](const auto& r) { return admin_.CreateApiKey(r); });
}

grpc::ServerUnaryReactor* PolicyService::ListApiKeys(grpc::CallbackServerContext* ctx,
                                                     const v1::ListApiKeysRequest* req,
                                                     v1::ListApiKeysResponse* resp) {
  return Run("ListApiKeys", ctx, req, resp,
             [this](const auto& r) { return admin_.ListApiKeys(r); });
}

grpc::ServerUnaryReactor* PolicyService::RevokeApiKey(grpc::CallbackServerContext* ctx,
                                                      const v1::RevokeApiKeyRequest* req,
                                                      v1::RevokeApiKeyResponse* resp) {
  return Run("RevokeApiKey", ctx, req, resp,
             [this](const auto& r) { return admin_.RevokeApiKey(r); });
}

}  // namespace p402::policy
