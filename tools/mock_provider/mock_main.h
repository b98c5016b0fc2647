// File: tools/mock_provider/mock_main.h
// Entry point of the p402-mock-provider binary: flags -> MockProvider -> ready file -> wait for
// SIGTERM/SIGINT -> shutdown. Flags: --listen=127.0.0.1:0 --name=openai --ready_file=path
// --tls_cert=pem --tls_key=pem --threads=1 --models=a,b --help. Exit codes: 0 after a signal,
// 2 on bad flags or a failed bind.
#pragma once

namespace p402::mock_provider {

int Main(int argc, char** argv);

}  // namespace p402::mock_provider
