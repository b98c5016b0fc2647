// Placeholder (issue 3 in progress): services/policy/core/kill_switch.cc
