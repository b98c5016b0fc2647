// File: services/policy/core/anomaly_layer.h
// Placeholder (issue 3 in progress).
#pragma once
