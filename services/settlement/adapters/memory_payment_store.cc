#include "services/settlement/adapters/memory_payment_store.h"

#include <algorithm>
#include <utility>

#include "libs/common/status_util.h"

namespace p402::settlement {

absl::StatusOr<std::optional<PaymentRecord>> InMemoryPaymentStore::Claim(
    const PaymentRecord& record) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = records_.try_emplace(ToMapKey(record.key), record);
  if (!inserted) {
    return std::optional<PaymentRecord>(it->second);
  }
  it->second.state = PaymentState::kClaimed;
  return std::optional<PaymentRecord>();
}

absl::StatusOr<std::optional<PaymentRecord>> InMemoryPaymentStore::Get(const PaymentKey& key) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(ToMapKey(key));
  if (it == records_.end()) {
    return std::optional<PaymentRecord>();
  }
  return std::optional<PaymentRecord>(it->second);
}

absl::StatusOr<bool> InMemoryPaymentStore::Transition(const PaymentKey& key, PaymentState expected,
                                                      const PaymentRecord& next) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(ToMapKey(key));
  if (it == records_.end()) {
    return NotFound("payment not found");
  }
  PaymentRecord& r = it->second;
  if (r.state != expected) {
    return false;
  }
  r.state = next.state;
  if (!next.claim_owner.empty()) {
    r.claim_owner = next.claim_owner;
  }
  r.tx_hash = next.tx_hash;
  r.raw_tx = next.raw_tx;
  r.error_reason = next.error_reason;
  r.error_message = next.error_message;
  r.updated_unix_ms = next.updated_unix_ms;
  return true;
}

absl::StatusOr<bool> InMemoryPaymentStore::Release(const PaymentKey& key,
                                                   std::string_view claim_owner) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(ToMapKey(key));
  if (it == records_.end()) {
    return false;
  }
  const PaymentRecord& r = it->second;
  const bool releasable =
      r.state == PaymentState::kClaimed || (r.state == PaymentState::kFailed && r.tx_hash.empty());
  if (!releasable || r.claim_owner != claim_owner) {
    return false;
  }
  records_.erase(it);
  return true;
}

absl::StatusOr<std::vector<PaymentRecord>> InMemoryPaymentStore::ListSubmitted(int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return InvalidArgument("limit must be 1.." + std::to_string(kMaxListLimit));
  }
  std::vector<PaymentRecord> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, r] : records_) {
      if (r.state == PaymentState::kSubmitted) {
        out.push_back(r);
      }
    }
  }
  // The map is ordered by key; a stable sort on the time keeps key order among equal times.
  std::stable_sort(out.begin(), out.end(), [](const PaymentRecord& a, const PaymentRecord& b) {
    return a.created_unix_ms < b.created_unix_ms;
  });
  if (out.size() > static_cast<size_t>(limit)) {
    out.resize(limit);
  }
  return out;
}

}  // namespace p402::settlement
