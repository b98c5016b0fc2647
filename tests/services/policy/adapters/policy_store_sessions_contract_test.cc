// Placeholder (issue 3 in progress): tests/services/policy/adapters/policy_store_sessions_contract_test.cc
