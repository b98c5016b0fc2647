// Placeholder (issue 3 in progress): services/policy/core/daily_limit_layer.cc
