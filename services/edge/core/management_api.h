// File: services/edge/core/management_api.h
// Placeholder (issue 3 in progress).
#pragma once
