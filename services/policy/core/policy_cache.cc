#include "services/policy/core/policy_cache.h"

#include <utility>

#include "libs/common/strings.h"

namespace p402::policy {

PolicyCache::PolicyCache(PolicyStore& store, const Clock& clock, std::chrono::milliseconds ttl)
    : store_(store), clock_(clock), ttl_ms_(ttl.count() < 0 ? 0 : ttl.count()) {}

absl::StatusOr<PolicyList> PolicyCache::Get(std::string_view tenant_id) {
  const int64_t now = UnixMillis(clock_.Now());
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(ToAbsl(tenant_id));
    // A clock that stepped back (now < loaded) also reloads, so an entry cannot live forever.
    if (it != entries_.end() && now >= it->second.loaded_unix_ms &&
        now - it->second.loaded_unix_ms < ttl_ms_) {
      return it->second.policies;
    }
    generation = generation_;
  }

  // The store is read without the lock (it may block on the network); concurrent misses of one
  // tenant may each read it, which is harmless.
  absl::StatusOr<std::vector<v1::TenantPolicy>> loaded = store_.ListPolicies(tenant_id);
  if (!loaded.ok()) {
    // Fail closed: a stale list could let through what a newer policy denies.
    Invalidate(tenant_id);
    return loaded.status();
  }
  auto policies = std::make_shared<const std::vector<v1::TenantPolicy>>(*std::move(loaded));
  if (ttl_ms_ > 0) {
    absl::MutexLock lock(&mu_);
    // An Invalidate during the read may have been for a change this read did not see: then the
    // result is returned but not kept.
    if (generation_ == generation) {
      entries_[std::string(tenant_id)] = Entry{.policies = policies, .loaded_unix_ms = now};
    }
  }
  return PolicyList(std::move(policies));
}

void PolicyCache::Invalidate(std::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  ++generation_;
  entries_.erase(ToAbsl(tenant_id));
}

}  // namespace p402::policy
