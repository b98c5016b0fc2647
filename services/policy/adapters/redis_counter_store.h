// File: services/policy/adapters/redis_counter_store.h
// Placeholder (issue 3 in progress).
#pragma once
