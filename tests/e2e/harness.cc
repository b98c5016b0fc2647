#include "tests/e2e/harness.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "catch2/catch.hpp"
#include "tests/support/test_env.h"

extern char** environ;

namespace p402::e2e {

// harness_listener.cc: dumps the logs of live suites when an assertion fails.
void RegisterSuiteForFailureLogs(Suite* suite);
void UnregisterSuiteForFailureLogs(Suite* suite);

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string RandomHex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  in.read(raw.data(), static_cast<std::streamsize>(bytes));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(bytes));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view x) {
  return s.size() >= x.size() && s.substr(s.size() - x.size()) == x;
}

// Inherited variables no child may see (real provider keys, a developer's P402_* settings).
std::vector<std::string> ScrubbedEnvNames(const Wiring& w) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    bool scrub = false;
    for (const auto& suffix : w.scrub_env_suffixes) {
      scrub = scrub || EndsWith(name, suffix);
    }
    for (const auto& prefix : w.scrub_env_prefixes) {
      scrub = scrub || StartsWith(name, prefix);
    }
    for (const auto& keep : w.keep_env_prefixes) {
      scrub = scrub && !StartsWith(name, keep);
    }
    if (scrub) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace

json::Value HttpResult::Json() const {
  auto parsed = json::Value::Parse(body);
  INFO("HTTP " << status << " body: " << body);
  REQUIRE(parsed.ok());
  return *std::move(parsed);
}

Suite::Suite(SuiteOptions options) : options_(std::move(options)) {
  RequireBinariesBuilt();
  CreateWorkDir();
  ResolveIdentity();
  auto client = http::HttpClient::Create();
  REQUIRE(client.ok());
  http_ = *std::move(client);
  const Wiring& w = options_.wiring;
  if (options_.start_mocks) {
    for (const std::string& name : w.mock_names) {
      StartLaunch(w.mock, "mock-" + name, name);
    }
  }
  if (options_.start_services) {
    StartLaunch(w.policy, w.policy.name, "");
    StartLaunch(w.router, w.router.name, "");
    StartLaunch(w.settlement, w.settlement.name, "");
    StartLaunch(w.edge, w.edge.name, "");
    WaitForEdge();
    for (int replica = 2; replica <= options_.replicas; ++replica) {
      replica_suffix_ = "-" + std::to_string(replica);
      StartLaunch(w.policy, w.policy.name + replica_suffix_, "");
      StartLaunch(w.edge, w.edge.name + replica_suffix_, "");
      replica_suffix_.clear();
      WaitForEdge(replica - 1);
    }
  }
  RegisterSuiteForFailureLogs(this);
}

Suite::~Suite() {
  UnregisterSuiteForFailureLogs(this);
  absl::Status s = Shutdown();
  if (!s.ok()) {
    std::cerr << "e2e: unclean shutdown: " << s.message() << "\n";
    failed_ = true;
  }
  const char* keep = std::getenv("P402_E2E_KEEP");
  if (failed_ || (keep != nullptr && std::string(keep) == "1")) {
    std::cerr << "e2e: logs kept in " << work_dir_ << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
}

absl::Status Suite::Shutdown() {
  absl::Status first;
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
    testing::Process& p = *it->second.process;
    absl::Status s = p.Terminate();
    if (!s.ok() && first.ok() && !it->second.killed_by_test) {
      first = absl::Status(s.code(), std::string(s.message()) + "\n" + p.LogTail(20));
    }
  }
  return first;
}

void Suite::RequireBinariesBuilt() const {
  const Wiring& w = options_.wiring;
  std::vector<const Launch*> needed;
  if (options_.start_mocks) {
    needed.push_back(&w.mock);
  }
  if (options_.start_services) {
    needed.insert(needed.end(), {&w.policy, &w.router, &w.settlement, &w.edge});
  }
  std::string missing;
  std::string targets;
  for (const Launch* launch : needed) {
    std::string binary = testing::BuildDir() + "/" + launch->binary;
    if (::access(binary.c_str(), X_OK) != 0) {
      missing += "\n  " + binary;
      targets += " " + launch->cmake_target;
    }
  }
  if (!missing.empty()) {
    FAIL(
        "the end-to-end suite starts the built binaries and FAILS (never skips) when one is "
        "missing. Not built:"
        << missing << "\nBuild them: ninja -C " << testing::BuildDir() << targets
        << "   (or tools/build.sh; the build dir comes from P402_BUILD_DIR or the "
           "working directory)");
  }
}

void Suite::CreateWorkDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/p402-e2e-XXXXXX";
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  work_dir_ = pattern;
}

void Suite::ResolveIdentity() {
  tenant_ = options_.wiring.tenant_prefix + RandomHex(6);
  api_key_ = options_.wiring.api_key_prefix + RandomHex(16);
  const char* dsn = std::getenv("P402_TEST_PG_DSN");
  bool have_dsn = dsn != nullptr && *dsn != '\0';
  if (!options_.pg_dsn.empty() && options_.postgres != Postgres::kOff) {
    pg_dsn_ = options_.pg_dsn;
    return;
  }
  switch (options_.postgres) {
    case Postgres::kRequired:
      pg_dsn_ = testing::RequirePostgresDsn();
      break;
    case Postgres::kIfAvailable:
      pg_dsn_ = have_dsn ? dsn : "";
      break;
    case Postgres::kOff:
      break;
  }
}

std::string Suite::Expand(const std::string& text, const std::string& label,
                          const std::string& mock_name) const {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("${", pos);
    if (open == std::string::npos) {
      return out + text.substr(pos);
    }
    size_t close = text.find('}', open);
    INFO("in \"" << text << "\" for " << label);
    REQUIRE(close != std::string::npos);
    out += text.substr(pos, open - pos);
    std::string key = text.substr(open + 2, close - open - 2);
    const Wiring& w = options_.wiring;
    if (key == "BUILD_DIR") {
      out += testing::BuildDir();
    } else if (key == "SOURCE_DIR") {
      out += testing::SourceDir();
    } else if (key == "WORK_DIR") {
      out += work_dir_;
    } else if (key == "READY_FILE") {
      out += work_dir_ + "/" + label + ".ready.json";
    } else if (key == "MOCK_NAME") {
      out += mock_name;
    } else if (StartsWith(key, "MOCK_URL:")) {
      out += "http://127.0.0.1:" +
             std::to_string(PortOf("mock-" + key.substr(9), w.mock.http_port_key));
    } else if (key == "POLICY_ADDR") {
      out += "127.0.0.1:" + std::to_string(PortOf(w.policy.name + replica_suffix_,
                                                  w.policy.grpc_port_key));
    } else if (key == "ROUTER_ADDR") {
      out += "127.0.0.1:" + std::to_string(PortOf(w.router.name, w.router.grpc_port_key));
    } else if (key == "SETTLEMENT_ADDR") {
      out += "127.0.0.1:" + std::to_string(PortOf(w.settlement.name, w.settlement.grpc_port_key));
    } else if (key == "TENANT") {
      out += tenant_;
    } else if (key == "API_KEY") {
      out += api_key_;
    } else if (key == "PG_DSN") {
      out += pg_dsn_;
    } else {
      FAIL("tests/e2e/wiring.cc: unknown placeholder ${" << key << "} for " << label);
    }
    pos = close + 1;
  }
}

int Suite::PortOf(std::string_view label, const std::string& key) const {
  for (const auto& [name, started] : started_) {
    if (name == label) {
      std::optional<int> port = started.ready.Port(key);
      INFO(label << " ready file " << started.ready.DebugString() << " lacks \"" << key
                 << "\" (tests/e2e/wiring.cc)");
      REQUIRE(port.has_value());
      return *port;
    }
  }
  FAIL("tests/e2e/wiring.cc refers to " << label << ", which was not started before");
  return 0;
}

Suite::Started& Suite::StartLaunch(const Launch& launch, const std::string& label,
                                   const std::string& mock_name) {
  std::string binary = testing::BuildDir() + "/" + launch.binary;
  testing::ProcessOptions o;
  o.name = label;
  o.path = binary;
  for (const std::string& a : launch.args) {
    o.args.push_back(Expand(a, label, mock_name));
  }
  if (auto it = options_.extra_args.find(launch.name); it != options_.extra_args.end()) {
    for (const std::string& a : it->second) {
      o.args.push_back(Expand(a, label, mock_name));
    }
  }
  // Later entries replace earlier ones of the same name (extra_env over the wiring); an entry
  // that expands to "" leaves the variable unset.
  std::vector<std::pair<std::string, std::string>> env = launch.env;
  if (auto it = options_.extra_env.find(launch.name); it != options_.extra_env.end()) {
    for (const auto& [k, v] : it->second) {
      std::erase_if(env, [&k = k](const auto& entry) { return entry.first == k; });
      env.emplace_back(k, v);
    }
  }
  for (const auto& [k, v] : env) {
    std::string value = Expand(v, label, mock_name);
    if (!value.empty()) {
      o.env.emplace_back(k, value);
    }
  }
  o.unset_env = ScrubbedEnvNames(options_.wiring);
  o.log_path = work_dir_ + "/" + label + ".log";
  std::string ready_path = work_dir_ + "/" + label + ".ready.json";

  auto process = testing::Process::Spawn(std::move(o));
  if (!process.ok()) {
    FAIL(label << ": cannot start: " << process.status().message());
  }
  auto ready = testing::WaitForReadyFile(ready_path, options_.ready_timeout, process->get());
  if (!ready.ok()) {
    FAIL(label << " did not become ready (" << (*process)->CommandLine() << "):\n"
               << ready.status().message());
  }
  started_.emplace_back(label, Started{*std::move(process), *std::move(ready)});
  return started_.back().second;
}

void Suite::WaitForEdge(int replica) {
  // The edge binds and reports /readyz 200 before it has the catalog (checked: /v1/models and
  // chat answer 503 catalog_unavailable until the router has answered), so wait for both.
  const Wiring& w = options_.wiring;
  std::string label = w.edge.name + (replica > 0 ? "-" + std::to_string(replica + 1) : "");
  testing::Process& edge = process(label);
  auto deadline = SteadyClock::now() + options_.ready_timeout;
  std::string last;
  bool admin_ready = false;
  while (SteadyClock::now() < deadline) {
    if (!edge.alive()) {
      break;
    }
    http::ClientRequest req;
    req.url = admin_ready ? EdgeUrl("/v1/models", replica)
                          : "http://127.0.0.1:" +
                                std::to_string(PortOf(label, w.edge.admin_port_key)) +
                                w.edge_readyz_path;
    req.headers = AuthHeaders();
    req.timeouts.total = std::chrono::seconds(2);
    auto r = http_->FetchBlocking(std::move(req));
    if (r.ok()) {
      last = "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 300);
      if (r->status == 200 && !admin_ready) {
        admin_ready = true;
        continue;
      }
      if (r->status == 200) {
        auto body = json::Value::Parse(r->body);
        const json::Value* data = body.ok() ? body->Find("data") : nullptr;
        if (data != nullptr && data->is_array() && !data->AsArray().empty()) {
          return;
        }
      }
    } else {
      last = std::string(r.status().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the edge did not become ready within "
       << options_.ready_timeout.count() << " ms ("
       << (admin_ready ? std::string("GET /v1/models") : "GET admin " + w.edge_readyz_path)
       << " last: " << last << ")\n"
       << LogTails(30));
}

std::string Suite::EdgeUrl(std::string_view path, int replica) const {
  std::string label = options_.wiring.edge.name;
  if (replica > 0) {
    label += "-" + std::to_string(replica + 1);
  }
  return "http://127.0.0.1:" + std::to_string(PortOf(label, options_.wiring.edge.http_port_key)) +
         std::string(path);
}

std::string Suite::AdminUrl(std::string_view path) const {
  return "http://127.0.0.1:" +
         std::to_string(PortOf(options_.wiring.edge.name, options_.wiring.edge.admin_port_key)) +
         std::string(path);
}

std::string Suite::PolicyAdminUrl(std::string_view path, int replica) const {
  std::string label = options_.wiring.policy.name;
  if (replica > 0) {
    label += "-" + std::to_string(replica + 1);
  }
  int port = PortOf(label, options_.wiring.policy.admin_port_key);
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

std::string Suite::SettlementAdminUrl(std::string_view path) const {
  int port = PortOf(options_.wiring.settlement.name, options_.wiring.settlement.admin_port_key);
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

std::string Suite::MockUrl(std::string_view name, std::string_view path) const {
  return "http://127.0.0.1:" +
         std::to_string(PortOf("mock-" + std::string(name), options_.wiring.mock.http_port_key)) +
         std::string(path);
}

void Suite::Kill(std::string_view name) {
  for (auto& [label, started] : started_) {
    if (label == name) {
      started.killed_by_test = true;
      started.process->Kill();
      return;
    }
  }
  FAIL("no process named " << name << " in this suite");
}

testing::Process& Suite::process(std::string_view name) {
  for (auto& [label, started] : started_) {
    if (label == name) {
      return *started.process;
    }
  }
  FAIL("no process named " << name << " in this suite");
  throw std::logic_error("unreachable");
}

void Suite::RequireAllAlive() {
  std::string dead;
  for (auto& [label, started] : started_) {
    if (!started.killed_by_test && !started.process->alive()) {
      dead += started.process->LogTail(40);
    }
  }
  if (!dead.empty()) {
    failed_ = true;
    FAIL("a service process has exited:\n" << dead);
  }
}

std::string Suite::LogTails(size_t lines) const {
  std::string out;
  for (const auto& [label, started] : started_) {
    out += started.process->LogTail(lines);
  }
  return out;
}

}  // namespace p402::e2e
