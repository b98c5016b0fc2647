// File: services/policy/core/concurrency_layer.h
// Placeholder (issue 3 in progress).
#pragma once
