// Placeholder (issue 3 in progress): tests/services/policy/core/memory_counter_store_test.cc
