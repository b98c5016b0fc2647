// File: services/settlement/core/fee_schedule.cc
// FeeSchedule: tier lookup and the rounded-up fee, in integer basis points.
#include "services/settlement/core/fee_schedule.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "libs/common/status_util.h"

namespace p402::settlement {
namespace {

constexpr int kMaxBasisPoints = 10'000;

bool ParseInt64(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

FeeSchedule FeeSchedule::Default() {
  FeeSchedule schedule;
  schedule.tiers_ = {{0, 200},
                     {1'000 * kMicrosPerUsd, 100},
                     {50'000 * kMicrosPerUsd, 75},
                     {250'000 * kMicrosPerUsd, 50}};
  return schedule;
}

FeeSchedule FeeSchedule::Flat(int basis_points) {
  FeeSchedule schedule;
  schedule.tiers_ = {{0, std::clamp(basis_points, 0, kMaxBasisPoints)}};
  return schedule;
}

absl::StatusOr<FeeSchedule> FeeSchedule::Parse(std::string_view text) {
  FeeSchedule schedule;
  std::string_view rest = text;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    size_t colon = item.find(':');
    int64_t min_volume = 0;
    int64_t bps = 0;
    if (colon == std::string_view::npos || !ParseInt64(Trim(item.substr(0, colon)), min_volume) ||
        !ParseInt64(Trim(item.substr(colon + 1)), bps)) {
      return InvalidArgument(
          "fee schedule: expected \"<min volume micro-USD>:<basis points>\" "
          "items separated by ',', got \"" +
          std::string(item) + "\"");
    }
    if (bps > kMaxBasisPoints) {
      return InvalidArgument("fee schedule: basis points must be 0..10000, got " +
                             std::to_string(bps));
    }
    if (schedule.tiers_.empty()
            ? min_volume != 0
            : min_volume <= schedule.tiers_.back().min_monthly_volume_micro_usd) {
      return InvalidArgument("fee schedule: tiers must start at volume 0 and ascend strictly");
    }
    schedule.tiers_.push_back({min_volume, static_cast<int>(bps)});
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return schedule;
}

int FeeSchedule::BasisPointsFor(MicroUsd monthly_volume) const {
  int bps = 0;
  for (const FeeTier& tier : tiers_) {
    if (monthly_volume < tier.min_monthly_volume_micro_usd) break;
    bps = tier.basis_points;
  }
  return bps;
}

MicroUsd FeeSchedule::FeeFor(MicroUsd amount, MicroUsd monthly_volume) const {
  if (amount <= 0) return 0;
  const __int128 bps = BasisPointsFor(monthly_volume);
  // ceil(amount * bps / 10000): P402 never under-charges by rounding. amount * 10000 fits int128.
  const __int128 fee =
      (static_cast<__int128>(amount) * bps + (kMaxBasisPoints - 1)) / kMaxBasisPoints;
  return static_cast<MicroUsd>(fee);  // <= amount, so it fits
}

std::string FeeSchedule::ToString() const {
  std::string out;
  for (const FeeTier& tier : tiers_) {
    if (!out.empty()) out += ',';
    out +=
        std::to_string(tier.min_monthly_volume_micro_usd) + ":" + std::to_string(tier.basis_points);
  }
  return out;
}

}  // namespace p402::settlement
