// File: services/policy/adapters/log_alert_sink.h
// Placeholder (issue 3 in progress).
#pragma once
