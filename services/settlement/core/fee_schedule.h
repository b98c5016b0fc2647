// File: services/settlement/core/fee_schedule.h
// P402's platform fee on settled volume (spec seed 8.2): a percentage chosen by the payer's
// volume this calendar month (UTC): $0-1K 2%, $1K-50K 1%, $50K-250K 0.75%, $250K+ 0.5%. Integer
// arithmetic only (basis points; the fee is rounded up to the next micro-USD so P402 never
// under-charges by rounding). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/money.h"

namespace p402::settlement {

struct FeeTier {
  MicroUsd min_monthly_volume_micro_usd = 0;  // tier applies from this volume on
  int basis_points = 0;                       // 100 = 1%
};

class FeeSchedule {
 public:
  // The default tiers above.
  static FeeSchedule Default();
  // A flat schedule of `basis_points` (0 = no fee), e.g. for tests and operators.
  static FeeSchedule Flat(int basis_points);
  // Parses "0:200,1000000000:100,50000000000:75,250000000000:50" (min volume micro-USD :
  // basis points, ascending, first at 0, bps 0..10000). InvalidArgument otherwise.
  static absl::StatusOr<FeeSchedule> Parse(std::string_view text);

  // Basis points for a payer with `monthly_volume` settled so far this month.
  int BasisPointsFor(MicroUsd monthly_volume) const;
  // The fee on `amount` at that tier: ceil(amount * bps / 10000). 0 for amount <= 0.
  MicroUsd FeeFor(MicroUsd amount, MicroUsd monthly_volume) const;
  const std::vector<FeeTier>& tiers() const { return tiers_; }
  // The Parse format.
  std::string ToString() const;

 private:
  std::vector<FeeTier> tiers_;
};

}  // namespace p402::settlement
