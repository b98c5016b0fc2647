#include "tests/support/local_chain.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "libs/json/value.h"
#include "tests/support/test_env.h"

namespace p402::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kRpcTimeout{10'000};
constexpr std::chrono::milliseconds kPollInterval{100};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) {
    return "";
  }
  size_t start = text.rfind('\n', end);
  start = (start == std::string::npos) ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

std::string TailLines(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      return text;
    }
    pos = nl;
  }
  return text.substr(pos);
}

// A port that was free a moment ago (bind 0, read it, close). ganache cannot be told to bind 0
// and report its port, so a rare race with another process is possible; Start retries.
absl::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return absl::InternalError(std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return absl::InternalError(std::string("bind: ") + std::strerror(err));
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// Decodes a chunked HTTP/1.1 body; nullopt when malformed.
std::optional<std::string> Dechunk(std::string_view in) {
  std::string out;
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) {
      return std::nullopt;
    }
    size_t size = std::strtoul(std::string(in.substr(0, eol)).c_str(), nullptr, 16);
    in.remove_prefix(eol + 2);
    if (size == 0) {
      return out;
    }
    if (in.size() < size + 2) {
      return std::nullopt;
    }
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<LoopbackHttpResponse> LoopbackPost(int port, std::string_view path,
                                                  std::string_view body,
                                                  std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(std::string("socket: ") + std::strerror(errno));
  }
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  auto fail = [&](std::string what) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError("127.0.0.1:" + std::to_string(port) + ": " + what + ": " +
                                  std::strerror(err));
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail("connect");
  }
  std::string request = "POST " + std::string(path) +
                        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        "Content-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return fail("send");
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      return fail("recv");
    }
    if (n == 0) {
      break;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = response.find("\r\n\r\n");
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos) {
    return absl::InternalError("unparseable HTTP response: " + response.substr(0, 200));
  }
  LoopbackHttpResponse out;
  out.status = std::atoi(response.c_str() + 9);
  std::string head = response.substr(0, head_end);
  for (char& c : head) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out.body = response.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    auto decoded = Dechunk(out.body);
    if (!decoded) {
      return absl::InternalError("malformed chunked body");
    }
    out.body = *std::move(decoded);
  }
  return out;
}

absl::StatusOr<std::string> FindNodeBinary() {
  if (const char* node = std::getenv("P402_NODE"); node != nullptr && *node != '\0') {
    if (IsExecutable(node)) {
      return std::string(node);
    }
    return absl::NotFoundError(std::string("P402_NODE=") + node + " is not executable");
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/node";
    if (IsExecutable(candidate)) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      "node is not installed (the e2e tests drive the edge with npm packages: the openai SDK, "
      "ganache, the x402 clients); install nodejs (tools/install_deps.sh) or set P402_NODE");
}

absl::StatusOr<std::unique_ptr<LocalChain>> LocalChain::Start(LocalChainOptions options) {
  std::unique_ptr<LocalChain> chain(new LocalChain(std::move(options)));
  auto node = FindNodeBinary();
  if (!node.ok()) {
    return node.status();
  }
  chain->node_ = *node;
  chain->x402_dir_ = SourceDir() + "/tests/e2e/x402";
  for (const char* needed : {"/node_modules/.bin/ganache", "/node_modules/solc/package.json",
                             "/node_modules/viem/package.json"}) {
    if (::access((chain->x402_dir_ + needed).c_str(), R_OK) != 0) {
      return absl::NotFoundError("missing " + chain->x402_dir_ + needed +
                                 ": run tools/e2e_deps.sh (installs tests/e2e/x402)");
    }
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/p402-chain-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  chain->dir_ = pattern;
  absl::Status launched;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto port = PickFreePort();
    if (!port.ok()) {
      return port.status();
    }
    chain->port_ = *port;
    launched = chain->Launch();
    if (launched.ok() || chain->running()) {
      break;  // started, or alive but not answering: retrying on another port will not help
    }
    std::filesystem::remove_all(chain->dir_ + "/db");
  }
  if (!launched.ok()) {
    return launched;
  }
  if (absl::Status deployed = chain->Deploy(); !deployed.ok()) {
    return deployed;
  }
  return chain;
}

LocalChain::~LocalChain() {
  if (process_ != nullptr) {
    (void)process_->Terminate();
  }
  if (!dir_.empty() && std::getenv("P402_E2E_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string LocalChain::rpc_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

absl::Status LocalChain::Launch() {
  ProcessOptions o;
  o.name = "ganache";
  // Started directly (not through npx) so the PID is the node process itself (X402.md 3.3).
  o.path = x402_dir_ + "/node_modules/.bin/ganache";
  o.args = {"--chain.chainId",
            std::to_string(options_.chain_id),
            "--server.host",
            "127.0.0.1",
            "--server.port",
            std::to_string(port_),
            "--wallet.deterministic",
            "--wallet.totalAccounts",
            "5",
            "--database.dbPath",
            dir_ + "/db",
            "--logging.quiet"};
  o.log_path = dir_ + "/ganache.log";
  o.unset_env = {"NODE_OPTIONS"};
  auto process = Process::Spawn(std::move(o));
  if (!process.ok()) {
    return process.status();
  }
  process_ = *std::move(process);
  std::ostringstream want;
  want << "\"0x" << std::hex << options_.chain_id << "\"";
  const auto deadline = Clock::now() + options_.start_timeout;
  absl::Status last = absl::UnavailableError("no answer yet");
  while (Clock::now() < deadline) {
    if (!process_->alive()) {
      return absl::InternalError("ganache exited before answering: " + LogTail());
    }
    auto chain_id = Rpc("eth_chainId", "[]");
    if (chain_id.ok()) {
      if (*chain_id != want.str()) {
        return absl::InternalError("ganache answers eth_chainId " + *chain_id + ", expected " +
                                   want.str());
      }
      return absl::OkStatus();
    }
    last = chain_id.status();
    std::this_thread::sleep_for(kPollInterval);
  }
  return absl::DeadlineExceededError("ganache did not answer eth_chainId within " +
                                     std::to_string(options_.start_timeout.count()) + " ms (" +
                                     std::string(last.message()) + "): " + LogTail());
}

absl::Status LocalChain::Deploy() {
  ProcessOptions o;
  o.name = "chain_setup";
  o.path = node_;
  o.args = {x402_dir_ + "/chain_setup.mjs", "--rpc-url", rpc_url(), "--chain-id",
            std::to_string(options_.chain_id), "--build-dir",
            // Cached in the build tree; never written into a source tree (BuildDir() falls back
            // to the current directory).
            ::access((BuildDir() + "/CMakeCache.txt").c_str(), R_OK) == 0
                ? BuildDir() + "/tests/e2e/x402-contracts"
                : dir_ + "/contracts",
            "--token-name", options_.token_name, "--token-version", options_.token_version,
            "--mint", std::to_string(options_.buyer_mint)};
  o.log_path = dir_ + "/chain_setup.stderr";
  o.stdout_path = dir_ + "/chain_setup.stdout";
  o.unset_env = {"NODE_OPTIONS", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
  auto process = Process::Spawn(std::move(o));
  if (!process.ok()) {
    return process.status();
  }
  if (!(*process)->WaitForExit(options_.start_timeout)) {
    (*process)->Kill();
    return absl::DeadlineExceededError("chain_setup.mjs did not finish: " + LogTail());
  }
  std::string line = LastLine(ReadFile(dir_ + "/chain_setup.stdout"));
  auto parsed = json::Value::Parse(line);
  if ((*process)->exit_code() != 0 || !parsed.ok() || !parsed->is_object() ||
      parsed->Find("harness_error") != nullptr || !parsed->GetString("token")) {
    return absl::InternalError("chain_setup.mjs failed (" + (*process)->StateDescription() +
                               "): " + line + "\n" + LogTail());
  }
  setup_json_ = line;
  token_ = std::string(*parsed->GetString("token"));
  facilitator_ = std::string(parsed->GetString("facilitator").value_or(""));
  buyer_ = std::string(parsed->GetString("buyer").value_or(""));
  seller_ = std::string(parsed->GetString("seller").value_or(""));
  poor_ = std::string(parsed->GetString("poor").value_or(""));
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalChain::Rpc(std::string_view method,
                                            std::string_view params_json) const {
  json::Value request = json::Value::EmptyObject();
  request.Set("jsonrpc", "2.0");
  request.Set("id", 1);
  request.Set("method", method);
  std::string body = request.Serialize();
  body.pop_back();  // splice the raw params in
  body += ",\"params\":" + std::string(params_json) + "}";
  auto response = LoopbackPost(port_, "/", body, kRpcTimeout);
  if (!response.ok()) {
    return response.status();
  }
  auto parsed = json::Value::Parse(response->body);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::UnavailableError("HTTP " + std::to_string(response->status) +
                                  " with a non-JSON-RPC body: " + response->body.substr(0, 300));
  }
  if (const json::Value* error = parsed->Find("error"); error != nullptr && !error->is_null()) {
    return absl::FailedPreconditionError(std::string(method) + ": " + error->Serialize());
  }
  const json::Value* result = parsed->Find("result");
  if (result == nullptr) {
    return absl::FailedPreconditionError(std::string(method) + ": no result in " +
                                         response->body.substr(0, 300));
  }
  return result->Serialize();
}

absl::StatusOr<uint64_t> LocalChain::TokenBalance(std::string_view owner) const {
  if (owner.size() != 42 || owner.substr(0, 2) != "0x") {
    return absl::InvalidArgumentError("not an address: " + std::string(owner));
  }
  std::string data = "0x70a08231" + std::string(24, '0');  // balanceOf(address)
  for (char c : owner.substr(2)) {
    data += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto result =
      Rpc("eth_call", R"([{"to":")" + token_ + R"(","data":")" + data + R"("},"latest"])");
  if (!result.ok()) {
    return result.status();
  }
  // "0x" + 64 hex digits; the value must fit 64 bits.
  std::string hex = result->size() >= 2 ? result->substr(1, result->size() - 2) : "";
  if (hex.size() != 66 || hex.compare(0, 2, "0x") != 0 || hex.find_first_not_of('0', 2) < 50) {
    return absl::InternalError("unexpected balanceOf result " + *result);
  }
  return std::strtoull(hex.c_str() + 50, nullptr, 16);
}

void LocalChain::Stop() {
  if (process_ != nullptr) {
    (void)process_->Terminate();
  }
}

absl::Status LocalChain::Restart() {
  Stop();
  if (absl::Status launched = Launch(); !launched.ok()) {
    return launched;
  }
  auto code = Rpc("eth_getCode", R"([")" + token_ + R"(","latest"])");
  if (!code.ok()) {
    return code.status();
  }
  if (code->size() < 10) {
    return absl::InternalError("the token lost its code across the restart: " + *code);
  }
  return absl::OkStatus();
}

bool LocalChain::running() const { return process_ != nullptr && process_->alive(); }

std::string LocalChain::LogTail(size_t lines) const {
  std::string out = process_ != nullptr ? process_->LogTail(lines) : "ganache: not started\n";
  std::string setup = ReadFile(dir_ + "/chain_setup.stderr");
  if (!setup.empty()) {
    out += "\n--- chain_setup.mjs stderr ---\n" + TailLines(setup, lines);
  }
  return out;
}

}  // namespace p402::testing
