// Placeholder (issue 3 in progress): services/policy/adapters/pg_policy_store_sessions.cc
