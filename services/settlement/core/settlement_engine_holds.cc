// File: services/settlement/core/settlement_engine_holds.cc
// SettlementEngine: prepaid spending -- HoldBalance, CaptureHold, ReleaseHold. The ledger is the
// only state: the hold is an entry keyed "hold:<id>" and its end (capture or release) one keyed
// "hold:<id>:end", so the ledger's idempotency keys make both steps replay-safe and mutually
// exclusive across processes, and its atomic Append keeps the balance from going below 0.
#include <algorithm>
#include <string>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/settlement/core/engine_internal.h"
#include "services/settlement/core/settlement_engine.h"

namespace p402::settlement {
namespace {

inline constexpr char kNoPrepaidAccount[] = "no_prepaid_account";
inline constexpr char kInsufficientBalance[] = "insufficient_balance";
constexpr size_t kMaxHoldIdLength = 128;

absl::Status CheckHoldId(std::string_view hold_id) {
  if (hold_id.empty() || hold_id.size() > kMaxHoldIdLength) {
    return InvalidArgument("hold_id must be 1..128 characters");
  }
  return absl::OkStatus();
}

std::string HoldKey(std::string_view hold_id) { return "hold:" + std::string(hold_id); }
std::string EndKey(std::string_view hold_id) { return HoldKey(hold_id) + ":end"; }

// The spendable balance of the hold's account now (for answers that changed nothing).
absl::StatusOr<int64_t> BalanceNow(Ledger& ledger, const LedgerEntry& of) {
  absl::StatusOr<Balance> balance = ledger.GetBalance(of.tenant_id, of.session_id);
  if (!balance.ok()) return balance.status();
  return balance->balance_micro_usd;
}

}  // namespace

MicroUsd SettlementEngine::MonthlyVolume(std::string_view tenant_id) {
  if (tenant_id.empty()) return 0;
  absl::StatusOr<int64_t> since = deps_.ledger->VolumeSince(
      tenant_id, internal::MonthStartMillis(internal::NowMillis(*deps_.clock)));
  // As SettlePayment: an unknown volume bills at the first (highest) tier.
  return since.ok() ? *since : 0;
}

absl::StatusOr<std::optional<LedgerEntry>> SettlementEngine::FindHold(std::string_view hold_id,
                                                                      std::string_view tenant_id) {
  P402_RETURN_IF_ERROR(CheckHoldId(hold_id));
  absl::StatusOr<std::optional<LedgerEntry>> found = deps_.ledger->FindByKey(HoldKey(hold_id));
  if (!found.ok()) return found.status();
  if (!found->has_value() || (*found)->kind != kEntryHold) return std::optional<LedgerEntry>();
  if (!tenant_id.empty() && (*found)->tenant_id != tenant_id) {
    return InvalidArgument("hold_id belongs to another account");
  }
  return found;
}

absl::StatusOr<v1::HoldBalanceResponse> SettlementEngine::HoldBalance(
    const v1::HoldBalanceRequest& request) {
  const v1::RequestMeta& meta = request.meta();
  if (meta.tenant_id().empty()) return InvalidArgument("meta.tenant_id is required");
  P402_RETURN_IF_ERROR(CheckHoldId(request.hold_id()));
  if (request.amount_micro_usd() <= 0) return InvalidArgument("amount_micro_usd must be > 0");

  v1::HoldBalanceResponse response;
  absl::StatusOr<Balance> balance = deps_.ledger->GetBalance(meta.tenant_id(), meta.session_id());
  if (!balance.ok()) return balance.status();
  if (balance->total_topped_up_micro_usd == 0) {
    response.set_reason(kNoPrepaidAccount);
    response.set_balance_micro_usd(balance->balance_micro_usd);
    return response;
  }

  const MicroUsd fee =
      deps_.fees.FeeFor(request.amount_micro_usd(), MonthlyVolume(meta.tenant_id()));
  std::optional<MicroUsd> held = AddMoney(request.amount_micro_usd(), fee);
  if (!held.has_value()) return InvalidArgument("amount_micro_usd is too large");

  LedgerEntry hold;
  hold.tenant_id = meta.tenant_id();
  hold.session_id = meta.session_id();
  hold.kind = kEntryHold;
  hold.amount_micro_usd = -*held;
  hold.idempotency_key = HoldKey(request.hold_id());
  hold.request_id = meta.request_id();
  hold.note = "prepaid hold (worst case + fee)";
  absl::StatusOr<AppendResult> appended = deps_.ledger->Append(hold);
  if (!appended.ok()) {
    if (appended.status().code() == absl::StatusCode::kFailedPrecondition &&
        ReasonOf(appended.status()) == std::string(kInsufficientBalance)) {
      absl::StatusOr<Balance> now = deps_.ledger->GetBalance(meta.tenant_id(), meta.session_id());
      if (!now.ok()) return now.status();
      response.set_reason(kInsufficientBalance);
      response.set_held_micro_usd(*held);
      response.set_balance_micro_usd(now->balance_micro_usd);
      return response;
    }
    return appended.status();
  }
  const LedgerEntry& stored = appended->entry;
  if (appended->duplicate) {
    if (stored.kind != kEntryHold || stored.tenant_id != meta.tenant_id() ||
        stored.session_id != meta.session_id()) {
      return InvalidArgument("hold_id reused");
    }
    P402_ASSIGN_OR_RETURN(const int64_t now, BalanceNow(*deps_.ledger, stored));
    response.set_held(true);
    response.set_held_micro_usd(-stored.amount_micro_usd);
    response.set_balance_micro_usd(now);
    return response;
  }
  response.set_held(true);
  response.set_held_micro_usd(*held);
  response.set_balance_micro_usd(stored.balance_after_micro_usd);
  return response;
}

absl::StatusOr<v1::CaptureHoldResponse> SettlementEngine::CaptureHold(
    const v1::CaptureHoldRequest& request) {
  if (request.cost_micro_usd() < 0) return InvalidArgument("cost_micro_usd must be >= 0");
  P402_ASSIGN_OR_RETURN(std::optional<LedgerEntry> hold,
                        FindHold(request.hold_id(), request.meta().tenant_id()));
  v1::CaptureHoldResponse response;
  if (!hold.has_value()) return response;

  const MicroUsd held = -hold->amount_micro_usd;
  const MicroUsd cost = std::min<MicroUsd>(request.cost_micro_usd(), held);
  const MicroUsd fee =
      deps_.fees.FeeFor(request.cost_micro_usd(), MonthlyVolume(hold->tenant_id));
  const MicroUsd total =
      std::min<MicroUsd>(AddMoney(request.cost_micro_usd(), fee).value_or(held), held);

  LedgerEntry capture;
  capture.tenant_id = hold->tenant_id;
  capture.session_id = hold->session_id;
  capture.kind = kEntryCapture;
  capture.amount_micro_usd = held - total;  // the unused part of the hold back
  capture.cost_micro_usd = total;
  capture.platform_fee_micro_usd = total - cost;
  capture.idempotency_key = EndKey(request.hold_id());
  capture.request_id = request.meta().request_id();
  capture.provider = request.model().provider();
  capture.model = request.model().model();
  capture.input_tokens = request.usage().input_tokens();
  capture.output_tokens = request.usage().output_tokens();
  capture.cost_estimated = request.usage().estimated();
  capture.note = "prepaid capture";
  absl::StatusOr<AppendResult> appended = deps_.ledger->Append(capture);
  if (!appended.ok()) return appended.status();
  const LedgerEntry& stored = appended->entry;
  if (appended->duplicate) {
    if (stored.kind != kEntryCapture) {
      // Released before: nothing to capture any more.
      P402_ASSIGN_OR_RETURN(const int64_t now, BalanceNow(*deps_.ledger, *hold));
      response.set_balance_micro_usd(now);
      return response;
    }
    P402_ASSIGN_OR_RETURN(const int64_t now, BalanceNow(*deps_.ledger, *hold));
    response.set_captured(true);
    response.set_duplicate(true);
    response.set_charged_micro_usd(stored.cost_micro_usd);
    response.set_platform_fee_micro_usd(stored.platform_fee_micro_usd);
    response.set_balance_micro_usd(now);
    return response;
  }
  response.set_captured(true);
  response.set_charged_micro_usd(total);
  response.set_platform_fee_micro_usd(total - cost);
  response.set_balance_micro_usd(stored.balance_after_micro_usd);
  return response;
}

absl::StatusOr<v1::ReleaseHoldResponse> SettlementEngine::ReleaseHold(
    const v1::ReleaseHoldRequest& request) {
  P402_ASSIGN_OR_RETURN(std::optional<LedgerEntry> hold,
                        FindHold(request.hold_id(), request.meta().tenant_id()));
  v1::ReleaseHoldResponse response;
  if (!hold.has_value()) return response;

  LedgerEntry release;
  release.tenant_id = hold->tenant_id;
  release.session_id = hold->session_id;
  release.kind = kEntryHoldRelease;
  release.amount_micro_usd = -hold->amount_micro_usd;  // the whole hold back
  release.idempotency_key = EndKey(request.hold_id());
  release.request_id = request.meta().request_id();
  release.note = request.reason().empty() ? "prepaid hold released" : request.reason();
  absl::StatusOr<AppendResult> appended = deps_.ledger->Append(release);
  if (!appended.ok()) return appended.status();
  // A capture got there first: the hold was spent, not released.
  response.set_released(!appended->duplicate || appended->entry.kind == kEntryHoldRelease);
  return response;
}

}  // namespace p402::settlement
