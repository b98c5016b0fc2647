// File: tests/services/policy/adapters/counter_store_contract.h
// Placeholder (issue 3 in progress).
#pragma once
