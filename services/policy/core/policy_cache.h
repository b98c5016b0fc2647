// File: services/policy/core/policy_cache.h
// PolicyCache: each tenant's policies, read from the PolicyStore at most once per `ttl` per
// process, so Authorize does not pay a store query for them. A change made through this process's
// PolicyAdmin invalidates the tenant at once; changes made through another replica are seen
// within `ttl` (default 1 s). Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

using PolicyList = std::shared_ptr<const std::vector<v1::TenantPolicy>>;

class PolicyCache {
 public:
  // `store` and `clock` must outlive the cache. ttl 0 = always read the store.
  PolicyCache(PolicyStore& store, const Clock& clock,
              std::chrono::milliseconds ttl = std::chrono::seconds(1));

  // The tenant's policies (all of them, disabled included, in ListPolicies order). Errors: as
  // PolicyStore::ListPolicies (a stale entry is NOT served when the store fails: policies can
  // deny, so they fail closed like the guard's store).
  absl::StatusOr<PolicyList> Get(std::string_view tenant_id);
  // Forgets the tenant's entry.
  void Invalidate(std::string_view tenant_id);

 private:
  struct Entry {
    PolicyList policies;
    int64_t loaded_unix_ms = 0;
  };
  PolicyStore& store_;
  const Clock& clock_;
  const int64_t ttl_ms_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Bumped by every Invalidate: a load that started before one is not cached (it may predate the
  // change that caused it).
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace p402::policy
