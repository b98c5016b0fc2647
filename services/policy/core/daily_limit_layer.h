// File: services/policy/core/daily_limit_layer.h
// Placeholder (issue 3 in progress).
#pragma once
