// File: services/policy/adapters/memory_counter_store.h
// Placeholder (issue 3 in progress).
#pragma once
