// Placeholder (issue 3 in progress): services/policy/core/rate_limit_layer.cc
