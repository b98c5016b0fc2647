#include "services/settlement/adapters/memory_ledger.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"

namespace p402::settlement {
namespace {

absl::Status ValidateEntry(const LedgerEntry& e) {
  if (e.tenant_id.empty()) {
    return InvalidArgument("ledger entry needs a tenant_id");
  }
  if (e.idempotency_key.empty()) {
    return InvalidArgument("ledger entry needs an idempotency_key");
  }
  if (e.kind.empty()) {
    return InvalidArgument("ledger entry needs a kind");
  }
  return absl::OkStatus();
}

// The sequence number after which a page starts (0 for the first page).
absl::StatusOr<uint64_t> ParseToken(std::string_view token) {
  if (token.empty()) {
    return uint64_t{0};
  }
  uint64_t seq = 0;
  if (token.size() > 20 ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(token), &seq) || seq == 0) {
    return InvalidArgument("malformed page_token");
  }
  return seq;
}

}  // namespace

absl::StatusOr<AppendResult> InMemoryLedger::Append(const LedgerEntry& entry) {
  P402_RETURN_IF_ERROR(ValidateEntry(entry));
  const int64_t now = UnixMillis(clock_.Now());
  absl::MutexLock lock(&mu_);
  if (auto it = by_key_.find(entry.idempotency_key); it != by_key_.end()) {
    return AppendResult{.entry = entries_[it->second], .duplicate = true};
  }
  Balance& balance = balances_[Account(entry.tenant_id, entry.session_id)];
  int64_t after = 0;
  if (__builtin_add_overflow(balance.balance_micro_usd, entry.amount_micro_usd, &after)) {
    return InvalidArgument("ledger entry amount overflows the balance");
  }
  if (after < 0) {
    return WithReason(FailedPrecondition("insufficient balance"), "insufficient_balance");
  }
  LedgerEntry stored = entry;
  stored.entry_id = "le_" + crypto::HexEncode(crypto::RandomBytes(8));
  stored.balance_before_micro_usd = balance.balance_micro_usd;
  stored.balance_after_micro_usd = after;
  if (stored.created_unix_ms == 0) {
    stored.created_unix_ms = now;
  }
  balance.balance_micro_usd = after;
  const TotalsDelta delta = TotalsDeltaOf(entry);
  balance.total_topped_up_micro_usd += delta.topped_up;
  balance.total_spent_micro_usd += delta.spent;
  const size_t index = entries_.size();
  entries_.push_back(stored);
  by_tenant_[stored.tenant_id].push_back(index);
  by_key_.emplace(stored.idempotency_key, index);
  return AppendResult{.entry = std::move(stored), .duplicate = false};
}

absl::StatusOr<Balance> InMemoryLedger::GetBalance(std::string_view tenant_id,
                                                   std::string_view session_id) {
  absl::MutexLock lock(&mu_);
  auto it = balances_.find(Account(std::string(tenant_id), std::string(session_id)));
  if (it == balances_.end()) {
    return Balance{};
  }
  return it->second;
}

absl::StatusOr<LedgerPage> InMemoryLedger::List(std::string_view tenant_id,
                                                std::string_view session_id,
                                                std::string_view page_token, int page_size) {
  if (page_size < 1 || page_size > 1000) {
    return InvalidArgument("page_size must be 1..1000");
  }
  P402_ASSIGN_OR_RETURN(const uint64_t after_seq, ParseToken(page_token));
  LedgerPage page;
  absl::MutexLock lock(&mu_);
  auto it = by_tenant_.find(ToAbsl(tenant_id));
  if (it == by_tenant_.end()) {
    return page;
  }
  const std::vector<size_t>& indexes = it->second;
  // Sequence number = index + 1, so entries after `after_seq` start at index after_seq.
  auto pos = std::lower_bound(indexes.begin(), indexes.end(), after_seq);
  size_t last_index = 0;
  for (; pos != indexes.end(); ++pos) {
    const LedgerEntry& e = entries_[*pos];
    if (!session_id.empty() && e.session_id != session_id) {
      continue;
    }
    if (page.entries.size() == static_cast<size_t>(page_size)) {
      // One more matching entry exists: the next page starts after the last one returned.
      page.next_page_token = std::to_string(last_index + 1);
      break;
    }
    page.entries.push_back(e);
    last_index = *pos;
  }
  return page;
}

absl::StatusOr<std::optional<LedgerEntry>> InMemoryLedger::FindByKey(
    std::string_view idempotency_key) {
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(ToAbsl(idempotency_key));
  if (it == by_key_.end()) {
    return std::optional<LedgerEntry>();
  }
  return std::optional<LedgerEntry>(entries_[it->second]);
}

absl::StatusOr<int64_t> InMemoryLedger::VolumeSince(std::string_view tenant_id,
                                                    int64_t since_unix_ms) {
  absl::MutexLock lock(&mu_);
  auto it = by_tenant_.find(ToAbsl(tenant_id));
  if (it == by_tenant_.end()) {
    return int64_t{0};
  }
  int64_t sum = 0;
  for (size_t index : it->second) {
    const LedgerEntry& e = entries_[index];
    if (e.created_unix_ms >= since_unix_ms && (e.kind == kEntryUsage || e.kind == kEntryPayment ||
                                              e.kind == kEntryCapture)) {
      sum += e.cost_micro_usd;
    }
  }
  return sum;
}

}  // namespace p402::settlement
