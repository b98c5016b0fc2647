// File: services/policy/policy_main.h
#pragma once

namespace p402::policy {
// The whole p402-policy program: config -> PolicyServer -> wait for SIGTERM -> drain -> stop.
int Main(int argc, char** argv);
}  // namespace p402::policy
