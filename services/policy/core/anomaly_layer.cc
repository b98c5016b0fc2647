// Placeholder (issue 3 in progress): services/policy/core/anomaly_layer.cc
