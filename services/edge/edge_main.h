// File: services/edge/edge_main.h
#pragma once

namespace p402::edge {
// The whole p402-edge program: config -> EdgeServer -> wait for SIGTERM -> drain -> stop.
int Main(int argc, char** argv);
}  // namespace p402::edge
