// Placeholder (issue 3 in progress): tests/services/policy/adapters/redis_counter_store_test.cc
