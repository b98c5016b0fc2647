// File: services/edge/core/admin_port.h
// Placeholder (issue 3 in progress).
#pragma once
