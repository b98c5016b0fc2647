// Placeholder (issue 3 in progress): services/policy/adapters/redis_counter_store.cc
