// Placeholder (issue 3 in progress): services/policy/adapters/log_alert_sink.cc
