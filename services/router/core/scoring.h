// File: services/router/core/scoring.h
// The scoring formulas of the route planner: weights per routing mode and the factor functions.
// Every factor is in [0, 1] (higher = better) and a candidate's score is the weighted sum, the
// weights of a mode summing to 1. The full rationale is in services/router/core/README.md.
//
//   task    = 0.5 x fit(task, model) + 0.5 x quality      (fit = 1 for no/unknown task)
//   quality = (q - q_min) / (q_max - q_min) over the qualified candidates (1 if all equal)
//   cost    = (ln c_max - ln c) / (ln c_max - ln c_min), c = worst-case micro-USD (>= 1)
//   latency = (ln l_max - ln l) / (ln l_max - ln l_min), l = live p95 ms, else catalog typical
//   health  = (1 - error_rate) x (0.25 if rate-limited now else 1)
//   policy  = 1 for the model the client named and for policy's preferred model
//             (RoutingConstraints.preferred_model), else 0.5
//   score   = sum(weight x factor) x (0.5 + 0.5 x share of the task's preferred capabilities the
//             model has) -- a known task demotes models that lack what it needs (e.g. "reasoning"
//             without the reasoning capability) so cheap/fast factors cannot outvote the task.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "p402/v1/common.pb.h"
#include "services/router/core/catalog.h"

namespace p402::router {

struct Weights {
  double task = 0;
  double cost = 0;
  double latency = 0;
  double health = 0;
  double policy = 0;
  double quality = 0;
};

// Weights of `mode` (UNSPECIFIED = BALANCED). For CUSTOM, `custom` {cost, quality, speed} share
// 0.75 of the weight in proportion (negative or NaN count as 0; all zero = BALANCED), the rest is
// task 0.10, health 0.10, policy 0.05.
Weights WeightsFor(v1::RoutingMode mode, const v1::RoutingWeights& custom);

// How well the model fits the task label (see README for the table): 0.6 x share of the task's
// preferred capabilities the model has + 0.4 x tier fit (1 in the preferred tiers, 0.5 one tier
// away, 0 otherwise). 1 for an empty or unknown task.
double TaskFit(std::string_view task, const ModelEntry& model);
// Share in [0, 1] of the task's preferred capabilities the model has; 1 for an empty or unknown
// task or a task without preferred capabilities.
double TaskCapabilityShare(std::string_view task, const ModelEntry& model);
// True when `task` is in the task table (case-insensitive).
bool IsKnownTask(std::string_view task);

// Min-max normaliser where smaller raw values are better, on a log scale (cost, latency).
// Values <= 0 are treated as 1. With one distinct value every score is 1.
class LogLowerIsBetter {
 public:
  explicit LogLowerIsBetter(const std::vector<double>& values);
  double Score(double value) const;

 private:
  double log_min_ = 0;
  double log_max_ = 0;
};

// Linear min-max normaliser where larger raw values are better (quality).
class LinearHigherIsBetter {
 public:
  explicit LinearHigherIsBetter(const std::vector<double>& values);
  double Score(double value) const;

 private:
  double min_ = 0;
  double max_ = 0;
};

// Health factor from an error rate (clamped to [0, 1]) and whether the candidate is rate-limited.
double HealthFactor(double error_rate, bool rate_limited_now);

// Weighted sum of the factors.
double WeightedScore(const Weights& w, double task, double cost, double latency, double health,
                     double policy, double quality);

}  // namespace p402::router
