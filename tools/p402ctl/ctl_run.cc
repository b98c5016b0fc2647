// Execute, the HTTP transport, the admin key from the environment and Main (see ctl_commands.h).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "libs/common/status_util.h"
#include "libs/http/client.h"
#include "tools/p402ctl/ctl_commands.h"

namespace p402::ctl {
namespace {

constexpr uint64_t kMaxResponseBytes = 16 * 1024 * 1024;
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

std::string Trim(std::string s) {
  const char* kSpace = " \t\r\n";
  s.erase(s.find_last_not_of(kSpace) + 1);
  s.erase(
      0, s.find_first_not_of(kSpace) == std::string::npos ? s.size() : s.find_first_not_of(kSpace));
  return s;
}

bool HasControlChars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      return true;
    }
  }
  return false;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(std::unique_ptr<http::HttpClient> client, std::string base_url,
                std::string admin_key)
      : client_(std::move(client)), base_url_(std::move(base_url)), key_(std::move(admin_key)) {}

  absl::StatusOr<HttpResult> Send(const ApiRequest& request) override {
    http::ClientRequest r;
    r.method = request.method;
    r.url = base_url_ + request.path;
    r.headers.Add("Authorization", "Bearer " + key_);
    r.headers.Add("Accept", "application/json");
    r.headers.Add("User-Agent", "p402ctl");
    if (request.body) {
      r.headers.Add("Content-Type", "application/json");
      r.body = request.body->Serialize();
    }
    r.timeouts.connect = std::chrono::milliseconds(5'000);
    r.timeouts.headers = std::chrono::milliseconds(60'000);
    r.timeouts.total = std::chrono::milliseconds(120'000);
    r.max_response_body_bytes = kMaxResponseBytes;
    auto response = client_->FetchBlocking(std::move(r));
    if (!response.ok()) {
      return response.status();
    }
    return HttpResult{response->status, std::move(response->body)};
  }

 private:
  std::unique_ptr<http::HttpClient> client_;
  std::string base_url_;
  std::string key_;
};

RunResult Failure(int code, std::string err) {
  RunResult r;
  r.exit_code = code;
  r.err = std::move(err);
  return r;
}

RunResult TransportFailure(const Command& command, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return Failure(kExitUsage, "p402ctl: " + MessageOf(status) + "\n");
  }
  return Failure(kExitConnection,
                 "error: cannot reach " + command.url + ": " + MessageOf(status) + "\n");
}

RunResult ServerFailure(const Command& command, const HttpResult& result) {
  RunResult r = Failure(kExitServerError, RenderError(result.status, result.body));
  if (command.json) {
    r.out = result.body + (result.body.empty() || result.body.back() == '\n' ? "" : "\n");
  }
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Transport>> MakeHttpTransport(std::string base_url,
                                                             std::string admin_key) {
  if (admin_key.empty() || HasControlChars(admin_key)) {
    return InvalidArgument("the admin key is empty or contains control characters");
  }
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return InvalidArgument("the URL must start with http:// or https://");
  }
  auto client = http::HttpClient::Create();
  if (!client.ok()) {
    return client.status();
  }
  return std::unique_ptr<Transport>(
      new HttpTransport(std::move(*client), std::move(base_url), std::move(admin_key)));
}

absl::StatusOr<std::string> AdminKeyFromEnv() {
  if (const char* key = std::getenv("P402_ADMIN_KEY"); key != nullptr && *key != '\0') {
    std::string trimmed = Trim(key);
    if (!trimmed.empty()) {
      return trimmed;
    }
  }
  const char* file = std::getenv("P402_ADMIN_KEY_FILE");
  if (file == nullptr || *file == '\0') {
    return InvalidArgument(
        "no admin key: set P402_ADMIN_KEY (or P402_ADMIN_KEY_FILE to a file holding it)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return InvalidArgument(std::string("cannot read P402_ADMIN_KEY_FILE ") + file);
  }
  std::string content(kMaxKeyFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  std::string key = Trim(std::move(content));
  if (key.empty() || key.size() > kMaxKeyFileBytes) {
    return InvalidArgument(std::string("P402_ADMIN_KEY_FILE ") + file + " is empty or too large");
  }
  return key;
}

RunResult Execute(const Command& command, Transport& transport) {
  RunResult r;
  if (command.help) {
    r.out = command.help_text;
    return r;
  }
  ApiRequest request = command.request;
  if (!command.prefetch_path.empty() && command.build_body) {
    // Read-modify-write: what the command line does not mention keeps its current value.
    auto current = transport.Send({"GET", command.prefetch_path, std::nullopt});
    if (!current.ok()) {
      return TransportFailure(command, current.status());
    }
    if (current->status / 100 != 2) {
      return ServerFailure(command, *current);
    }
    auto object = json::Value::Parse(current->body);
    if (!object.ok() || !object->is_object()) {
      return Failure(kExitServerError, "error: unexpected answer to GET " + command.prefetch_path +
                                           " (not a JSON object)\n");
    }
    auto body = command.build_body(*object);
    if (!body.ok()) {
      return Failure(kExitUsage, "p402ctl: " + MessageOf(body.status()) + "\n");
    }
    request.body = std::move(*body);
  }
  auto result = transport.Send(request);
  if (!result.ok()) {
    return TransportFailure(command, result.status());
  }
  if (result->status / 100 != 2) {
    return ServerFailure(command, *result);
  }
  if (command.json) {
    r.out = result->body;
    if (r.out.empty() || r.out.back() != '\n') {
      r.out += '\n';
    }
    return r;
  }
  auto rendered = RenderSuccess(command.view, result->body);
  if (!rendered.ok()) {
    return Failure(kExitServerError, "error: " + MessageOf(rendered.status()) + "\n");
  }
  r.out = std::move(rendered->out);
  r.err = std::move(rendered->err);
  return r;
}

int Main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    const char* env_url = std::getenv("P402_URL");
    auto command = ParseCommand(args, env_url != nullptr ? env_url : "");
    if (!command.ok()) {
      std::fprintf(stderr, "p402ctl: %s\n", MessageOf(command.status()).c_str());
      return kExitUsage;
    }
    if (command->help) {
      std::fputs(command->help_text.c_str(), stdout);
      return kExitOk;
    }
    auto key = AdminKeyFromEnv();
    if (!key.ok()) {
      std::fprintf(stderr, "p402ctl: %s\n", MessageOf(key.status()).c_str());
      return kExitUsage;
    }
    auto transport = MakeHttpTransport(command->url, *key);
    if (!transport.ok()) {
      std::fprintf(stderr, "p402ctl: %s\n", MessageOf(transport.status()).c_str());
      return kExitUsage;
    }
    RunResult r = Execute(*command, **transport);
    std::fwrite(r.out.data(), 1, r.out.size(), stdout);
    std::fflush(stdout);
    std::fwrite(r.err.data(), 1, r.err.size(), stderr);
    return r.exit_code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "p402ctl: internal error: %s\n", e.what());
    return kExitServerError;
  }
}

}  // namespace p402::ctl
