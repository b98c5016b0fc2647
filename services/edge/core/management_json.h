// File: services/edge/core/management_json.h
// Placeholder (issue 3 in progress).
#pragma once
