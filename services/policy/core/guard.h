// File: services/policy/core/guard.h
// Guard: the billing guard's request path, one call per request stage (BRIEF "Request lifecycle"
// step 2 and 6). Authorize authenticates the caller's API key (only its SHA-256 is ever looked
// up), resolves the tenant's limits and runs the guard layers in order (guard_chain.h), ending with
// a budget reservation of the request's worst-case cost. Commit finalises that reservation to the
// actual cost; Release returns it. The rpc/ adapter calls exactly one of these per RPC.
//
// Denials are answers (AuthorizeResponse.decision + reason), not errors. A non-OK status means the
// guard could not decide: InvalidArgument for a malformed request, Unavailable when the store is
// down (the caller fails closed), Internal for inconsistent stored data.
//
// Thread-safety: all methods may be called concurrently (the state lives in the PolicyStore).
// Blocking: as blocking as the store (the PostgreSQL store does network I/O).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/guard_chain.h"
#include "services/policy/core/guard_config.h"
#include "services/policy/core/guard_layer.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

// Longest API key accepted for hashing; anything longer is "invalid_api_key" without a lookup.
inline constexpr size_t kMaxApiKeyLength = 256;

class Guard {
 public:
  // A guard with DefaultLayers. `store` and `clock` must outlive it. InvalidArgument when
  // config.Validate() fails.
  static absl::StatusOr<std::unique_ptr<Guard>> Create(PolicyStore& store, const Clock& clock,
                                                       GuardConfig config);
  // A guard with the given layers (canonical order required, see GuardChain).
  static absl::StatusOr<std::unique_ptr<Guard>> Create(
      PolicyStore& store, const Clock& clock, GuardConfig config,
      std::vector<std::unique_ptr<GuardLayer>> layers);
  // The layers implemented today, in order: request_cap, reservation.
  // TODO(p402): rate_limit, daily_limit, concurrency and anomaly go in front of them.
  static std::vector<std::unique_ptr<GuardLayer>> DefaultLayers(PolicyStore& store,
                                                                const GuardConfig& config);

  // Authenticates and admits one request.
  //   - no credential / empty api_key  -> DENY_UNAUTHENTICATED, reason "missing_api_key"
  //   - unknown key (or > 256 chars)   -> DENY_UNAUTHENTICATED, reason "invalid_api_key"
  //   - revoked key                    -> DENY_UNAUTHENTICATED, reason "revoked_api_key"
  //   - session token / x402 payment   -> DENY_UNAUTHENTICATED, reason "unsupported_credential"
  //                                       (TODO(p402): agent sessions and x402 issues)
  //   - then the layers; the first denial decides (e.g. DENY_REQUEST_CAP "request_cap_exceeded",
  //     DENY_BUDGET "budget_exhausted"). ALLOW carries the reservation and, when max_tokens was
  //     lowered to fit, reduced_max_tokens.
  // tenant_id and api_key_id are set once the key authenticated, also on later denials.
  // Errors: InvalidArgument (negative worst_case/tokens/price), Unavailable (store down),
  // Internal (the key's tenant is missing).
  absl::StatusOr<v1::AuthorizeResponse> Authorize(const v1::AuthorizeRequest& request);

  // Finalises a reservation to request.actual_micro_usd, clamped to the reserved amount: the
  // clamped part is reported in overrun_micro_usd and never charged. Idempotent: a replay
  // returns the first commit's charge with already_committed = true. A reservation that expired
  // before the commit is still charged (the provider was paid). Errors: InvalidArgument (bad id,
  // negative actual), NotFound (unknown reservation), FailedPrecondition with reason
  // "reservation_released" (it was released: nothing may be charged any more), Unavailable.
  absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request);

  // Returns an open reservation's hold to the budget. Idempotent: already_finalized = true when
  // it was already committed, released or expired. Errors: InvalidArgument, NotFound, Unavailable.
  absl::StatusOr<v1::ReleaseResponse> Release(const v1::ReleaseRequest& request);

  // Expires every open reservation past its expiry (now from the clock) and returns the count.
  // The composition root calls this periodically. Errors: Unavailable.
  absl::StatusOr<int64_t> ExpireReservations();

  const GuardConfig& config() const { return config_; }

 private:
  Guard(PolicyStore& store, const Clock& clock, GuardConfig config,
        std::vector<std::unique_ptr<GuardLayer>> layers);

  PolicyStore& store_;
  const Clock& clock_;
  const GuardConfig config_;
  const GuardChain chain_;
};

}  // namespace p402::policy
