// File: services/policy/core/rate_limit_layer.h
// Placeholder (issue 3 in progress).
#pragma once
