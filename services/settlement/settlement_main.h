// File: services/settlement/settlement_main.h
#pragma once

namespace p402::settlement {
// The whole p402-settlement program: config -> SettlementServer -> wait for SIGTERM -> drain ->
// stop.
int Main(int argc, char** argv);
}  // namespace p402::settlement
