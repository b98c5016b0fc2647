// Placeholder (issue 3 in progress): services/policy/adapters/memory_counter_store.cc
