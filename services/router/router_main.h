// File: services/router/router_main.h
#pragma once

namespace p402::router {
// The whole p402-router program: config -> RouterServer -> wait for SIGTERM -> drain -> stop.
int Main(int argc, char** argv);
}  // namespace p402::router
