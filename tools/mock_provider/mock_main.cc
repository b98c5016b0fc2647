#include "tools/mock_provider/mock_main.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "libs/common/log.h"
#include "libs/common/process.h"
#include "libs/common/status_util.h"
#include "tools/mock_provider/mock_provider.h"

namespace p402::mock_provider {
namespace {

constexpr std::string_view kUsage =
    "p402-mock-provider: a fake OpenAI/Anthropic provider for tests and benchmarks.\n"
    "  --listen=HOST:PORT   address to bind (default 127.0.0.1:0)\n"
    "  --name=NAME          provider name (default openai)\n"
    "  --ready_file=PATH    after binding, write {\"http_port\":N} there atomically\n"
    "  --tls_cert=PEM --tls_key=PEM   serve HTTPS\n"
    "  --threads=N          io threads (default 1)\n"
    "  --models=a,b         ids listed by GET /v1/models\n"
    "See tools/mock_provider/README.md for the request controls.\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "p402-mock-provider: %s\n%s", message.c_str(), kUsage.data());
  return 2;
}

}  // namespace

int Main(int argc, char** argv) {
  BlockShutdownSignals();
  log::Configure(log::OptionsFromEnv("mock-provider"));
  MockOptions options;
  std::string ready_file;
  std::string tls_cert;
  std::string tls_key;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      return Fail("expected --flag=value, got '" + std::string(arg) + "'");
    }
    std::string_view key = arg.substr(2, eq - 2);
    std::string value(arg.substr(eq + 1));
    if (key == "listen") {
      options.listen = value;
    } else if (key == "name") {
      if (value.empty()) return Fail("--name must not be empty");
      options.name = value;
    } else if (key == "ready_file") {
      ready_file = value;
    } else if (key == "tls_cert") {
      tls_cert = value;
    } else if (key == "tls_key") {
      tls_key = value;
    } else if (key == "threads") {
      try {
        options.threads = std::stoi(value);
      } catch (...) {
        return Fail("--threads must be an integer");
      }
    } else if (key == "models") {
      for (size_t start = 0; start <= value.size();) {
        size_t comma = value.find(',', start);
        std::string id = value.substr(start, comma - start);
        if (!id.empty()) options.models.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      return Fail("unknown flag --" + std::string(key));
    }
  }
  if (tls_cert.empty() != tls_key.empty()) {
    return Fail("--tls_cert and --tls_key go together");
  }
  if (!tls_cert.empty()) {
    options.tls = http::ServerTlsOptions{tls_cert, tls_key};
  }
  auto mock = MockProvider::Start(options);
  if (!mock.ok()) {
    P402_LOG(kError, "mock provider failed to start").Field("error", MessageOf(mock.status()));
    return 2;
  }
  if (!ready_file.empty()) {
    absl::Status s = WriteReadyFile(ready_file, {{"http_port", (*mock)->port()}});
    if (!s.ok()) {
      P402_LOG(kError, "cannot write ready file").Field("error", MessageOf(s));
      return 2;
    }
  }
  P402_LOG(kInfo, "mock provider listening")
      .Field("name", options.name)
      .Field("url", (*mock)->base_url());
  int sig = WaitForShutdownSignal();
  P402_LOG(kInfo, "mock provider stopping").Field("signal", sig);
  (*mock)->Shutdown();
  return 0;
}

}  // namespace p402::mock_provider
