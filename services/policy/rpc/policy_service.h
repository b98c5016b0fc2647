// File: services/policy/rpc/policy_service.h
// The gRPC adapter of the billing guard (callback API): each RPC reads the request, calls exactly
// one core method (Guard or TenantAdmin), converts the status and counts the outcome. The core may
// block on PostgreSQL, so calls run on a bounded worker pool when one is given (a full queue is
// shed with UNAVAILABLE "policy_overloaded", counted); with the in-memory store they run inline.
#pragma once

#include <memory>

#include "libs/metrics/registry.h"
#include "libs/store/worker_pool.h"
#include "p402/v1/policy.grpc.pb.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/tenant_admin.h"

namespace p402::policy {

class PolicyService final : public v1::Policy::CallbackService {
 public:
  // `workers` may be null (run inline). All references must outlive the service.
  PolicyService(Guard& guard, TenantAdmin& admin, store::WorkerPool* workers,
                metrics::Registry& registry);

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* ctx,
                                      const v1::AuthorizeRequest* req,
                                      v1::AuthorizeResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx, const v1::CommitRequest* req,
                                   v1::CommitResponse* resp) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* ctx,
                                    const v1::ReleaseRequest* req,
                                    v1::ReleaseResponse* resp) override;
  grpc::ServerUnaryReactor* CreateTenant(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTenantRequest* req,
                                         v1::CreateTenantResponse* resp) override;
  grpc::ServerUnaryReactor* GetTenant(grpc::CallbackServerContext* ctx,
                                      const v1::GetTenantRequest* req,
                                      v1::GetTenantResponse* resp) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::CreateApiKeyRequest* req,
                                         v1::CreateApiKeyResponse* resp) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* ctx,
                                        const v1::ListApiKeysRequest* req,
                                        v1::ListApiKeysResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeApiKeyRequest* req,
                                         v1::RevokeApiKeyResponse* resp) override;

 private:
  template <typename Req, typename Resp, typename Fn>
  grpc::ServerUnaryReactor* Run(std::string_view rpc, grpc::CallbackServerContext* ctx,
                                const Req* req, Resp* resp, Fn fn);

  Guard& guard_;
  TenantAdmin& admin_;
  store::WorkerPool* workers_;
  metrics::CounterFamily& rpcs_;
  metrics::CounterFamily& decisions_;
  metrics::Counter& shed_;
};

}  // namespace p402::policy
