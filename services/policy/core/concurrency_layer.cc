// Placeholder (issue 3 in progress): services/policy/core/concurrency_layer.cc
