#include "services/router/core/scoring.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace p402::router {
namespace {

struct TaskRule {
  std::vector<std::string_view> names;
  std::vector<std::string_view> capabilities;
  std::vector<Tier> tiers;
};

// Task labels -> what suits them. Cheap tasks prefer cheap tiers so that "premium model used for
// a simple task" scores lower; hard tasks prefer the tiers with reasoning headroom.
const std::vector<TaskRule>& TaskRules() {
  static const auto* rules = new std::vector<TaskRule>{
      {{"code", "coding", "programming", "debugging"}, {"tools"}, {Tier::kMid, Tier::kPremium}},
      {{"reasoning", "math", "analysis", "research", "planning"},
       {"reasoning"},
       {Tier::kMid, Tier::kPremium}},
      {{"agent", "tool_use", "function_calling", "tools"}, {"tools"}, {Tier::kMid, Tier::kPremium}},
      {{"vision", "image", "ocr"}, {"vision"}, {Tier::kBudget, Tier::kMid, Tier::kPremium}},
      {{"extraction", "classification", "json", "structured_output"},
       {"json_mode"},
       {Tier::kBudget, Tier::kMid}},
      {{"summarization", "summary", "translation", "chat", "simple", "qa", "rewrite"},
       {},
       {Tier::kBudget, Tier::kMid}},
      {{"creative", "writing"}, {}, {Tier::kMid, Tier::kPremium}},
  };
  return *rules;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

const TaskRule* FindTask(std::string_view task) {
  if (task.empty()) {
    return nullptr;
  }
  std::string lower = Lower(task);
  for (const TaskRule& rule : TaskRules()) {
    for (std::string_view name : rule.names) {
      if (name == lower) {
        return &rule;
      }
    }
  }
  return nullptr;
}

double Clamp01(double v) {
  if (!(v >= 0)) return 0;  // also NaN
  return v > 1 ? 1 : v;
}

}  // namespace

Weights WeightsFor(v1::RoutingMode mode, const v1::RoutingWeights& custom) {
  //                     task  cost  latency health policy quality
  const Weights balanced{0.30, 0.25, 0.20, 0.15, 0.10, 0.00};
  switch (mode) {
    case v1::ROUTING_MODE_COST:
      return {0.10, 0.70, 0.05, 0.10, 0.05, 0.00};
    case v1::ROUTING_MODE_QUALITY:
      return {0.10, 0.05, 0.05, 0.15, 0.05, 0.60};
    case v1::ROUTING_MODE_SPEED:
      return {0.10, 0.10, 0.60, 0.15, 0.05, 0.00};
    case v1::ROUTING_MODE_CUSTOM: {
      double c = Clamp01(custom.cost());
      double q = Clamp01(custom.quality());
      double s = Clamp01(custom.speed());
      double sum = c + q + s;
      if (sum <= 0) {
        return balanced;
      }
      return {0.10, 0.75 * c / sum, 0.75 * s / sum, 0.10, 0.05, 0.75 * q / sum};
    }
    default:
      return balanced;
  }
}

bool IsKnownTask(std::string_view task) { return FindTask(task) != nullptr; }

double TaskCapabilityShare(std::string_view task, const ModelEntry& model) {
  const TaskRule* rule = FindTask(task);
  if (rule == nullptr || rule->capabilities.empty()) {
    return 1.0;
  }
  int have = 0;
  for (std::string_view c : rule->capabilities) {
    have += model.HasCapability(c) ? 1 : 0;
  }
  return static_cast<double>(have) / static_cast<double>(rule->capabilities.size());
}

double TaskFit(std::string_view task, const ModelEntry& model) {
  const TaskRule* rule = FindTask(task);
  if (rule == nullptr) {
    return 1.0;
  }
  double tier = 0.0;
  for (Tier t : rule->tiers) {
    int distance = std::abs(static_cast<int>(t) - static_cast<int>(model.tier));
    tier = std::max(tier, distance == 0 ? 1.0 : distance == 1 ? 0.5 : 0.0);
  }
  return 0.6 * TaskCapabilityShare(task, model) + 0.4 * tier;
}

LogLowerIsBetter::LogLowerIsBetter(const std::vector<double>& values) {
  bool first = true;
  for (double v : values) {
    double l = std::log(std::max(v, 1.0));
    log_min_ = first ? l : std::min(log_min_, l);
    log_max_ = first ? l : std::max(log_max_, l);
    first = false;
  }
}

double LogLowerIsBetter::Score(double value) const {
  if (log_max_ - log_min_ < 1e-12) {
    return 1.0;
  }
  double l = std::log(std::max(value, 1.0));
  return Clamp01((log_max_ - l) / (log_max_ - log_min_));
}

LinearHigherIsBetter::LinearHigherIsBetter(const std::vector<double>& values) {
  bool first = true;
  for (double v : values) {
    min_ = first ? v : std::min(min_, v);
    max_ = first ? v : std::max(max_, v);
    first = false;
  }
}

double LinearHigherIsBetter::Score(double value) const {
  if (max_ - min_ < 1e-12) {
    return 1.0;
  }
  return Clamp01((value - min_) / (max_ - min_));
}

double HealthFactor(double error_rate, bool rate_limited_now) {
  return (1.0 - Clamp01(error_rate)) * (rate_limited_now ? 0.25 : 1.0);
}

double WeightedScore(const Weights& w, double task, double cost, double latency, double health,
                     double policy, double quality) {
  return Clamp01(w.task * task + w.cost * cost + w.latency * latency + w.health * health +
                 w.policy * policy + w.quality * quality);
}

}  // namespace p402::router
