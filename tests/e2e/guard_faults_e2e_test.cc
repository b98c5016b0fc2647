// The billing guard's failure modes end to end (issue 3), with real processes and real servers
// going away mid-run:
//   - PostgreSQL down: the guard cannot decide, so the edge fails closed with 503
//     guard_unavailable, promptly and counted; nothing reaches a provider, nothing is held, the
//     spend recorded before the outage is intact, and the service recovers when the database is
//     back (same port, same data).
//   - PostgreSQL stalled (its processes SIGSTOPped: calls hang instead of failing): the edge
//     answers 503 at its policy timeout, and the Authorize calls it gave up on do not hold
//     reservations or concurrency slots once the database moves again.
//   - Redis down: layers 1-4 fail open (chats go on, counted in the policy's /metrics), layers
//     5-6 keep denying (they use PostgreSQL), and once Redis is back nothing fails open any more.
// The PostgreSQL cases run their OWN server (tools/pg/pg_start.sh + pg_ctl.sh), never the shared
// P402_TEST_PG_DSN one that other tests use.
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/http/client.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/metrics_text.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_env.h"

namespace p402::e2e {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a fault's effect, or the recovery from it, may take to show (generous: 2 shared
// cores). Polls end as soon as the condition holds.
constexpr milliseconds kRecoveryDeadline{30'000};

// Runs `tools/pg/<script> args...` to completion within `timeout`; its stdout, or an error with
// its stderr. Never FAILs (also used from a destructor).
absl::StatusOr<std::string> RunPgTool(const std::string& dir, const std::string& script,
                                      std::vector<std::string> args,
                                      std::vector<std::pair<std::string, std::string>> env = {},
                                      milliseconds timeout = milliseconds(60'000)) {
  testing::ProcessOptions o;
  o.name = script;
  o.path = "/bin/bash";
  o.args.push_back(testing::SourceDir() + "/tools/pg/" + script);
  for (std::string& a : args) o.args.push_back(std::move(a));
  o.env = std::move(env);
  o.log_path = dir + "/pg_tools.log";
  o.stdout_path = dir + "/" + script + ".out";
  auto p = testing::Process::Spawn(std::move(o));
  if (!p.ok()) return p.status();
  if (!(*p)->WaitForExit(timeout)) {
    (*p)->Kill();
    return absl::DeadlineExceededError(script + " did not finish in time\n" + (*p)->LogTail(20));
  }
  if ((*p)->exit_code() != 0) {
    return absl::InternalError(script + " failed: " + (*p)->StateDescription() + "\n" +
                               (*p)->LogTail(20));
  }
  std::ifstream in(dir + "/" + script + ".out");
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// A PostgreSQL of this test only: tools/pg/pg_start.sh in a fresh temp dir, with
// synchronous_commit on (a commit must survive `pg_ctl stop -m immediate`, like a production
// server's would). Stop()/Start() keep the data and the port (tools/pg/pg_ctl.sh); the
// destructor deletes the cluster (tools/pg/pg_stop.sh).
class OwnPostgres {
 public:
  OwnPostgres() {
    // Short path under /tmp: the server's unix socket path must fit in sun_path.
    std::string pattern = "/tmp/p402-pgf-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    // The server may run as `postgres` (when the test runs as root): it must enter this dir.
    REQUIRE(::chmod(dir_.c_str(), 0711) == 0);
    datadir_ = dir_ + "/pg";
    auto out = RunPgTool(dir_, "pg_start.sh", {datadir_}, {{"PG_START_SYNCHRONOUS_COMMIT", "on"}});
    if (!out.ok()) {
      FAIL("cannot start the test's own PostgreSQL: " << out.status().message());
    }
    std::istringstream lines(*out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("DSN=", 0) == 0) dsn_ = line.substr(4);
    }
    REQUIRE(!dsn_.empty());
  }
  ~OwnPostgres() {
    auto stopped = RunPgTool(dir_, "pg_stop.sh", {datadir_});
    if (!stopped.ok()) {
      std::cerr << "e2e: could not stop the test's PostgreSQL in " << datadir_ << ": "
                << stopped.status().message() << "\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  OwnPostgres(const OwnPostgres&) = delete;
  OwnPostgres& operator=(const OwnPostgres&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& datadir() const { return datadir_; }
  // `pg_ctl stop -m immediate`: backends die at once, connections are cut (a crash).
  void Stop() {
    auto r = RunPgTool(dir_, "pg_ctl.sh", {datadir_, "stop"});
    if (!r.ok()) FAIL(r.status().message());
  }
  // Starts it again from the same data directory on the same port.
  void Start() {
    auto r = RunPgTool(dir_, "pg_ctl.sh", {datadir_, "start"});
    if (!r.ok()) FAIL(r.status().message());
  }

 private:
  std::string dir_;
  std::string datadir_;
  std::string dsn_;
};

// Calls `fn` every 100 ms until it returns true or `deadline` passes; whether it did.
template <typename Fn>
bool PollUntil(milliseconds deadline, Fn fn) {
  const auto end = SteadyClock::now() + deadline;
  while (true) {
    if (fn()) return true;
    if (SteadyClock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
}

// One process's state letter ('T' = stopped) and parent, from /proc/<pid>/stat; nullopt when it
// is gone.
struct ProcState {
  char state = '?';
  pid_t ppid = 0;
};

std::optional<ProcState> ReadProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  ProcState s;
  long ppid = 0;
  if (!(rest >> s.state >> ppid)) return std::nullopt;
  s.ppid = static_cast<pid_t>(ppid);
  return s;
}

// Processes whose parent is `parent` (a scan of /proc).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    std::optional<ProcState> s = ReadProcState(pid);
    if (s.has_value() && s->ppid == parent) out.push_back(pid);
  }
  return out;
}

// Freezes one PostgreSQL cluster — its postmaster (first line of <datadir>/postmaster.pid) and
// every child of it (backends, checkpointer, walwriter, ...) — with SIGSTOP: connections stay
// open and connects are queued, but nothing answers, the way a hung database server looks to
// its clients. Only processes of that cluster are signalled. Thaw() (and the destructor, so an
// assertion that fails mid-test never leaves a process stopped) sends SIGCONT to all of them.
class FrozenPostgres {
 public:
  explicit FrozenPostgres(std::string datadir) : datadir_(std::move(datadir)) {}
  ~FrozenPostgres() { Thaw(); }
  FrozenPostgres(const FrozenPostgres&) = delete;
  FrozenPostgres& operator=(const FrozenPostgres&) = delete;

  // Stops the postmaster first (so it forks nothing new), then its children, and waits until
  // each one is in state T. Never FAILs: what was stopped is resumed by Thaw() either way.
  absl::Status Freeze() {
    std::ifstream pidfile(datadir_ + "/postmaster.pid");
    std::string first_line;
    if (!std::getline(pidfile, first_line)) {
      return absl::FailedPreconditionError("no " + datadir_ + "/postmaster.pid");
    }
    const pid_t postmaster = static_cast<pid_t>(std::atol(first_line.c_str()));
    if (postmaster <= 1) return absl::FailedPreconditionError("bad postmaster.pid: " + first_line);
    std::ifstream cmdline_file("/proc/" + std::to_string(postmaster) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                        std::istreambuf_iterator<char>());
    if (cmdline.find("postgres") == std::string::npos) {
      return absl::FailedPreconditionError("pid " + std::to_string(postmaster) +
                                           " from postmaster.pid is not a postgres process");
    }
    absl::Status stopped = StopAndWait(postmaster);
    if (!stopped.ok()) return stopped;
    // A child forked just before the SIGSTOP landed shows up on the second scan.
    for (int scan = 0; scan < 2; ++scan) {
      for (pid_t child : ChildrenOf(postmaster)) {
        stopped = StopAndWait(child);
        if (!stopped.ok()) return stopped;
      }
    }
    return absl::OkStatus();
  }

  // Whether every frozen process still exists and is still stopped.
  bool AllStopped() const {
    for (pid_t pid : stopped_) {
      std::optional<ProcState> s = ReadProcState(pid);
      if (!s.has_value() || s->state != 'T') return false;
    }
    return !stopped_.empty();
  }
  size_t size() const { return stopped_.size(); }

  // SIGCONT to every process stopped, children first. Idempotent; never FAILs.
  void Thaw() {
    for (auto it = stopped_.rbegin(); it != stopped_.rend(); ++it) {
      if (::kill(*it, SIGCONT) != 0 && errno != ESRCH) {
        std::cerr << "e2e: SIGCONT " << *it << ": " << std::strerror(errno) << "\n";
      }
    }
    stopped_.clear();
  }

 private:
  absl::Status StopAndWait(pid_t pid) {
    for (pid_t known : stopped_) {
      if (known == pid) return absl::OkStatus();
    }
    if (::kill(pid, SIGSTOP) != 0) {
      if (errno == ESRCH) return absl::OkStatus();  // exited meanwhile
      return absl::InternalError("SIGSTOP " + std::to_string(pid) + ": " + std::strerror(errno));
    }
    stopped_.push_back(pid);
    // kill() returns before the process has stopped.
    const bool stopped = PollUntil(milliseconds(5'000), [&] {
      std::optional<ProcState> s = ReadProcState(pid);
      return !s.has_value() || s->state == 'T';
    });
    if (!stopped) return absl::DeadlineExceededError("pid " + std::to_string(pid) + " not stopped");
    return absl::OkStatus();
  }

  std::string datadir_;
  std::vector<pid_t> stopped_;  // in stop order
};

HttpResult Chat(Suite& suite, std::string_view content = "hello") {
  return suite.EdgePost("/v1/chat/completions",
                        ChatBody("gpt-4o-mini", content, R"("max_tokens":16)"));
}

struct TimedChat {
  HttpResult result;
  milliseconds elapsed{0};
};

// Sends `n` chats to the edge at once (a client of its own, so none waits for another) and waits
// for all of them; each answer with the time it took. Bounded by `timeout` per call.
std::vector<TimedChat> ChatsAtOnce(Suite& suite, int n, milliseconds timeout) {
  std::vector<std::promise<TimedChat>> done(static_cast<size_t>(n));
  std::vector<std::future<TimedChat>> answers;
  for (auto& p : done) answers.push_back(p.get_future());
  {
    // Declared after `done`: destroyed (calls cancelled, callbacks finished) before it.
    auto client = http::HttpClient::Create();
    REQUIRE(client.ok());
    const auto start = SteadyClock::now();
    for (int i = 0; i < n; ++i) {
      http::ClientRequest req;
      req.method = "POST";
      req.url = suite.EdgeUrl("/v1/chat/completions");
      req.headers = suite.AuthHeaders();
      req.body = ChatBody("gpt-4o-mini", "hello " + std::to_string(i), R"("max_tokens":16)");
      req.timeouts.total = timeout;
      std::promise<TimedChat>* slot = &done[static_cast<size_t>(i)];
      (*client)->Fetch(std::move(req), [slot, start](absl::StatusOr<http::ClientResponse> r) {
        TimedChat out;
        out.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
        if (r.ok()) {
          out.result = HttpResult{r->status, std::move(r->headers), std::move(r->body)};
        } else {
          out.result.body = "transport error: " + r.status().ToString();
        }
        slot->set_value(std::move(out));
      });
    }
    for (auto& a : answers) a.wait();
  }
  std::vector<TimedChat> out;
  for (auto& a : answers) out.push_back(a.get());
  return out;
}

// Requests both mock providers received so far.
int64_t ProviderRequests(Suite& suite) {
  return MockRequestsTotal(suite, "openai") + MockRequestsTotal(suite, "anthropic");
}

// p402_metadata.cost_micro_usd of a successful JSON chat response (REQUIREs one).
int64_t ChatCost(const HttpResult& r) {
  INFO("chat: HTTP " << r.status << " " << r.body.substr(0, 1000));
  REQUIRE(r.status == 200);
  json::Value body = r.Json();
  const json::Value* meta = body.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CheckMetadata(*meta);
  std::optional<int64_t> cost = meta->GetInt("cost_micro_usd");
  REQUIRE(cost.has_value());
  return *cost;
}

// A money member of a management object ("12.500000") as micro-USD; REQUIREs it.
int64_t UsdField(const json::Value& obj, std::string_view key) {
  std::optional<std::string_view> text = obj.GetString(key);
  INFO("member " << key << " of " << obj.Serialize());
  REQUIRE(text.has_value());
  std::optional<MicroUsd> micros = ParseUsd(*text);
  REQUIRE(micros.has_value());
  return *micros;
}

struct TenantMoney {
  int64_t spent = -1;
  int64_t reserved = -1;
};

// GET /v2/tenant; nullopt when the management API does not answer 200 (guard down).
std::optional<TenantMoney> ReadTenantMoney(Suite& suite) {
  HttpResult r = suite.Http("GET", suite.EdgeUrl("/v2/tenant"), "", suite.AuthHeaders());
  if (r.status != 200) return std::nullopt;
  json::Value tenant = r.Json();
  return TenantMoney{UsdField(tenant, "spent_usd"), UsdField(tenant, "reserved_usd")};
}

// Polls GET /v2/tenant until spent == want_spent and nothing is reserved (commits leave the
// response path). Returns the last reading.
std::optional<TenantMoney> AwaitSettled(Suite& suite, int64_t want_spent) {
  std::optional<TenantMoney> last;
  PollUntil(kRecoveryDeadline, [&] {
    last = ReadTenantMoney(suite);
    return last.has_value() && last->spent == want_spent && last->reserved == 0;
  });
  return last;
}

std::string PolicyMetrics(Suite& suite) {
  HttpResult r = suite.HttpGet(suite.PolicyAdminUrl("/metrics"));
  INFO("policy /metrics: " << r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  return r.body;
}

double PolicyMetric(Suite& suite, std::string_view name,
                    const std::map<std::string, std::string>& labels = {}) {
  return MetricValueOr0(PolicyMetrics(suite), name, labels);
}

constexpr std::string_view kFailedOpen = "p402_policy_guard_layer_failed_open_total";
constexpr std::string_view kStoreFailures = "p402_policy_counter_store_failures_total";
constexpr std::array<std::string_view, 4> kFailOpenLayers = {"rate_limit", "daily_limit",
                                                             "concurrency", "anomaly"};

std::map<std::string, double> FailedOpenByLayer(Suite& suite) {
  std::string text = PolicyMetrics(suite);
  std::map<std::string, double> out;
  for (std::string_view layer : kFailOpenLayers) {
    out[std::string(layer)] = MetricValueOr0(text, kFailedOpen, {{"layer", std::string(layer)}});
  }
  return out;
}

}  // namespace

TEST_CASE(
    "PostgreSQL down: the guard fails closed (503 guard_unavailable), loses nothing and "
    "recovers when the database is back",
    "[e2e][faults]") {
  OwnPostgres pg;
  SuiteOptions options;
  options.pg_dsn = pg.dsn();
  Suite suite(options);

  // A billed chat through the official SDK.
  json::Value first =
      suite.RunSdk("chat", ChatBody("gpt-4o-mini", "Say hello.", R"("max_tokens":16)"));
  INFO("SDK result: " << first.Serialize().substr(0, 2000));
  REQUIRE(first.GetInt("status") == 200);
  const json::Value* response = first.Find("response");
  REQUIRE(response != nullptr);
  const json::Value* meta = response->Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CheckMetadata(*meta);
  const int64_t first_cost = meta->GetInt("cost_micro_usd").value_or(-1);
  REQUIRE(first_cost > 0);
  // Its Commit leaves the response path: wait until it is in the database before the crash.
  std::optional<TenantMoney> money = AwaitSettled(suite, first_cost);
  REQUIRE(money.has_value());
  REQUIRE(money->spent == first_cost);
  REQUIRE(money->reserved == 0);

  const double fail_closed_before = EdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total");
  const std::map<std::string, std::string> authorize_unavailable = {{"rpc", "Authorize"},
                                                                    {"code", "UNAVAILABLE"}};
  const double unavailable_before =
      PolicyMetric(suite, "p402_policy_rpcs_total", authorize_unavailable);
  const int64_t provider_before = ProviderRequests(suite);

  pg.Stop();

  // Fail closed, promptly: the pool must notice the dead connections and fail fast, not hang.
  constexpr int kDownChats = 3;
  for (int i = 0; i < kDownChats; ++i) {
    const auto start = SteadyClock::now();
    HttpResult down = Chat(suite);
    const auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    INFO("chat " << i << " with PostgreSQL down: HTTP " << down.status << " after "
                 << elapsed.count() << " ms: " << down.body);
    CHECK(down.status == 503);
    CheckOpenAiError(down.Json(), "server_error", "guard_unavailable");
    CHECK(down.headers.Get("x-request-id").has_value());
    CHECK(elapsed < seconds(10));
    if (i == 0) WARN("first chat after the crash: 503 in " << elapsed.count() << " ms");
  }
  // Counted by the edge as fail-closed denials...
  CHECK(AwaitEdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total", {},
                        fail_closed_before + kDownChats) >= fail_closed_before + kDownChats);
  // ... and answered UNAVAILABLE by the policy itself (not cut by the edge's policy_timeout).
  CHECK(PolicyMetric(suite, "p402_policy_rpcs_total", authorize_unavailable) >=
        unavailable_before + kDownChats);
  // Not processed: no provider saw them.
  CHECK(ProviderRequests(suite) == provider_before);
  // The management API fails closed the same way.
  HttpResult tenant_down = suite.Http("GET", suite.EdgeUrl("/v2/tenant"), "", suite.AuthHeaders());
  CHECK(tenant_down.status == 503);
  CheckOpenAiError(tenant_down.Json(), "server_error", "guard_unavailable");

  pg.Start();

  // Nothing lost: the spend from before the crash is there, and the failed requests never held
  // a reservation. (The management read also proves the pool reconnected.)
  money = AwaitSettled(suite, first_cost);
  REQUIRE(money.has_value());
  CHECK(money->spent == first_cost);
  CHECK(money->reserved == 0);

  // Chats succeed again.
  std::optional<HttpResult> back;
  int refused_meanwhile = 0;
  const bool recovered = PollUntil(kRecoveryDeadline, [&] {
    HttpResult r = Chat(suite);
    if (r.status == 200) {
      back = std::move(r);
      return true;
    }
    INFO("chat while PostgreSQL comes back: HTTP " << r.status << " " << r.body);
    CHECK(r.status == 503);
    ++refused_meanwhile;
    return false;
  });
  REQUIRE(recovered);
  WARN("chats refused after the restart before one succeeded: " << refused_meanwhile);
  const int64_t second_cost = ChatCost(*back);
  CHECK(ProviderRequests(suite) > provider_before);
  money = AwaitSettled(suite, first_cost + second_cost);
  REQUIRE(money.has_value());
  CHECK(money->spent == first_cost + second_cost);
  CHECK(money->reserved == 0);

  suite.RequireAllAlive();
  // The services survive the outage and still shut down cleanly (exit code 0).
  absl::Status shutdown = suite.Shutdown();
  INFO(shutdown.message());
  CHECK(shutdown.ok());
}

TEST_CASE("a stalled PostgreSQL leaves no orphan reservations", "[e2e][faults]") {
  constexpr milliseconds kPolicyTimeout{2'000};  // the edge's deadline on policy calls
  constexpr int kPolicyWorkers = 2;
  constexpr int kStalledChats = 3;
  OwnPostgres pg;
  SuiteOptions options;
  // A connect to the frozen server waits for it (instead of libpq's 5 s default giving up), so
  // every Authorize caught by the freeze is still under way when the database thaws, however
  // slow this machine is: the case under test.
  options.pg_dsn = pg.dsn() + "?connect_timeout=60";
  options.extra_args["edge"] = {"--policy_timeout=" + std::to_string(kPolicyTimeout.count()) +
                                "ms"};
  // Two workers for three stalled chats: two Authorize calls hang inside the guard (in-flight
  // admissions) and the third waits in the queue behind them, so both ways a caller can be gone
  // by the time the work gets done are exercised.
  options.extra_args["policy"] = {"--worker_threads=" + std::to_string(kPolicyWorkers)};
  Suite suite(options);

  // A small concurrency limit: two orphaned slots would refuse every new chat (429).
  {
    HttpResult patched = suite.Http("PATCH", suite.EdgeUrl("/v2/tenant"),
                                    R"({"limits":{"max_concurrent":2}})", suite.AuthHeaders());
    INFO("PATCH /v2/tenant: " << patched.status << " " << patched.body);
    REQUIRE(patched.status == 200);
    const json::Value tenant = patched.Json();
    const json::Value* limits = tenant.Find("limits");
    REQUIRE(limits != nullptr);
    REQUIRE(limits->GetInt("max_concurrent") == 2);
  }

  const int64_t first_cost = ChatCost(Chat(suite));
  REQUIRE(first_cost > 0);
  std::optional<TenantMoney> money = AwaitSettled(suite, first_cost);
  REQUIRE(money.has_value());
  REQUIRE(money->spent == first_cost);
  REQUIRE(money->reserved == 0);

  const std::map<std::string, std::string> authorize_deadline = {{"rpc", "Authorize"},
                                                                 {"code", "DEADLINE_EXCEEDED"}};
  constexpr std::string_view kAbandoned = "p402_policy_abandoned_admissions_total";
  const double deadline_before = PolicyMetric(suite, "p402_policy_rpcs_total", authorize_deadline);
  const double abandoned_before = PolicyMetric(suite, kAbandoned);
  const double fail_closed_before = EdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total");
  const int64_t provider_before = ProviderRequests(suite);

  {
    FrozenPostgres frozen(pg.datadir());
    absl::Status froze = frozen.Freeze();
    INFO("freezing PostgreSQL: " << froze.message());
    REQUIRE(froze.ok());
    WARN("PostgreSQL frozen: " << frozen.size() << " processes stopped");

    // Hung, not refused: each chat waits out the edge's policy timeout, then fails closed.
    std::vector<TimedChat> stalled = ChatsAtOnce(suite, kStalledChats, milliseconds(30'000));
    for (size_t i = 0; i < stalled.size(); ++i) {
      const TimedChat& c = stalled[i];
      INFO("chat " << i << " with PostgreSQL frozen: HTTP " << c.result.status << " after "
                   << c.elapsed.count() << " ms: " << c.result.body);
      CHECK(c.result.status == 503);
      if (c.result.status == 503) {
        CheckOpenAiError(c.result.Json(), "server_error", "guard_unavailable");
      }
      CHECK(c.elapsed >= kPolicyTimeout - milliseconds(100));
      CHECK(c.elapsed < kPolicyTimeout + milliseconds(3'000));
    }
    // The database really was stalled the whole time (not crashed, not resumed).
    CHECK(frozen.AllStopped());
    frozen.Thaw();
  }
  CHECK(AwaitEdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total", {},
                        fail_closed_before + kStalledChats) >= fail_closed_before + kStalledChats);

  // The calls the edge gave up on finish once the database moves again; none may keep budget.
  std::optional<TenantMoney> after;
  const bool settled = PollUntil(milliseconds(10'000), [&] {
    after = ReadTenantMoney(suite);
    return after.has_value() && after->reserved == 0 && after->spent == first_cost;
  });
  std::string reading = "no answer";
  if (after.has_value()) {
    reading = "spent " + std::to_string(after->spent) + ", reserved " +
              std::to_string(after->reserved) + " micro-USD";
  }
  INFO("tenant after the thaw: " << reading);
  CHECK(settled);
  CHECK(ProviderRequests(suite) == provider_before);

  // Every stalled Authorize ended as caller_gone (DEADLINE_EXCEEDED): the two that were running
  // admitted and were released at once, the queued one was never run.
  double deadline_delta = 0;
  PollUntil(milliseconds(10'000), [&] {
    deadline_delta =
        PolicyMetric(suite, "p402_policy_rpcs_total", authorize_deadline) - deadline_before;
    return deadline_delta >= kStalledChats;
  });
  const double abandoned_delta = PolicyMetric(suite, kAbandoned) - abandoned_before;
  WARN("after the thaw: Authorize DEADLINE_EXCEEDED +" << deadline_delta << ", abandoned +"
                                                       << abandoned_delta);
  CHECK(deadline_delta == kStalledChats);
  CHECK(abandoned_delta == kPolicyWorkers);

  // No concurrency slot is left over: three chats in a row (each settled before the next)
  // succeed at max_concurrent 2.
  int64_t spent = first_cost;
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Chat(suite);
    INFO("fresh chat " << i << " after the thaw: HTTP " << r.status << " " << r.body);
    CHECK(r.status == 200);
    if (r.status != 200) continue;
    spent += ChatCost(r);
    money = AwaitSettled(suite, spent);
    REQUIRE(money.has_value());
    CHECK(money->spent == spent);
    CHECK(money->reserved == 0);
  }

  suite.RequireAllAlive();
  absl::Status shutdown = suite.Shutdown();
  INFO(shutdown.message());
  CHECK(shutdown.ok());
}

TEST_CASE(
    "Redis down mid-run: layers 1-4 fail open and are counted, layers 5-6 still deny, "
    "and nothing fails open once Redis is back",
    "[e2e][faults]") {
  auto redis = testing::RedisServer::Start();
  if (!redis.ok()) {
    FAIL("cannot start redis-server: " << redis.status().message());
  }
  SuiteOptions options;  // PostgreSQL (P402_TEST_PG_DSN): layers 5-6 live there
  options.extra_env["policy"] = {
      {"P402_POLICY_REDIS_URL", "redis://127.0.0.1:" + std::to_string((*redis)->port())}};
  // Faults here are a dead Redis (refused at once), not a slow one: a generous command timeout
  // keeps a busy test machine from failing layers open while Redis is up.
  options.extra_args["policy"] = {"--redis_command_timeout=1s"};
  Suite suite(options);

  CHECK(ChatCost(Chat(suite)) > 0);
  // Healthy Redis: nothing failed open, no counter-store failures.
  std::map<std::string, double> failed_open = FailedOpenByLayer(suite);
  for (const auto& [layer, value] : failed_open) {
    INFO("layer " << layer);
    CHECK(value == 0);
  }
  CHECK(PolicyMetric(suite, kStoreFailures) == 0);

  (*redis)->Kill();
  const double take_token_failures_before =
      PolicyMetric(suite, kStoreFailures, {{"op", "take_token"}});

  // Chats go on: layers 1-4 fail open, promptly, on every request.
  constexpr int kDownChats = 3;
  for (int i = 0; i < kDownChats; ++i) {
    const auto start = SteadyClock::now();
    HttpResult r = Chat(suite);
    const auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    INFO("chat " << i << " with Redis down: HTTP " << r.status << " after " << elapsed.count()
                 << " ms");
    CHECK(ChatCost(r) > 0);
    CHECK(elapsed < seconds(5));
  }
  std::map<std::string, double> failed_open_down = FailedOpenByLayer(suite);
  for (std::string_view layer : kFailOpenLayers) {
    INFO("layer " << layer);
    CHECK(failed_open_down[std::string(layer)] >= failed_open[std::string(layer)] + kDownChats);
  }
  CHECK(PolicyMetric(suite, kStoreFailures, {{"op", "take_token"}}) >=
        take_token_failures_before + kDownChats);

  // Layers 5-6 do not need Redis: a tiny per-request cap still denies (402), before any
  // provider is called.
  HttpResult patched =
      suite.Http("PATCH", suite.EdgeUrl("/v2/tenant"),
                 R"({"limits":{"per_request_cap_usd":"0.000001"}})", suite.AuthHeaders());
  INFO("PATCH /v2/tenant: " << patched.status << " " << patched.body);
  REQUIRE(patched.status == 200);
  const int64_t provider_before_cap = ProviderRequests(suite);
  std::optional<HttpResult> capped;
  int allowed_meanwhile = 0;
  PollUntil(kRecoveryDeadline, [&] {
    HttpResult r = Chat(suite);
    if (r.status == 200) {  // should the old limits still apply briefly
      ++allowed_meanwhile;
      return false;
    }
    capped = std::move(r);
    return true;
  });
  REQUIRE(capped.has_value());
  INFO("capped chat: HTTP " << capped->status << " " << capped->body);
  CHECK(capped->status == 402);
  CheckOpenAiError(capped->Json(), "insufficient_quota", "request_cap_exceeded");
  const int64_t provider_after_cap = ProviderRequests(suite);
  // The layers before it still ran (and failed open) for the denied request.
  CHECK(MetricValueOr0(PolicyMetrics(suite), kFailedOpen, {{"layer", "rate_limit"}}) >
        failed_open_down["rate_limit"]);
  HttpResult restored =
      suite.Http("PATCH", suite.EdgeUrl("/v2/tenant"), R"({"limits":{}})", suite.AuthHeaders());
  REQUIRE(restored.status == 200);
  REQUIRE(PollUntil(kRecoveryDeadline, [&] { return Chat(suite).status == 200; }));
  // The denied request reached no provider (each chat allowed meanwhile made one call).
  CHECK(provider_after_cap - provider_before_cap == allowed_meanwhile);

  // Redis back (same port, empty): the store reconnects after its fail-fast window, and from
  // then on nothing fails open.
  REQUIRE((*redis)->Restart().ok());
  auto total_failed_open = [&] { return MetricValueOr0(PolicyMetrics(suite), kFailedOpen); };
  int failed_open_after_restart = 0;
  const bool reconnected = PollUntil(kRecoveryDeadline, [&] {
    const double before = total_failed_open();
    CHECK(Chat(suite).status == 200);
    if (total_failed_open() == before) return true;
    ++failed_open_after_restart;
    return false;
  });
  REQUIRE(reconnected);
  WARN("chats that still failed open after the Redis restart: " << failed_open_after_restart);
  const double settled = total_failed_open();
  for (int i = 0; i < kDownChats; ++i) {
    CHECK(ChatCost(Chat(suite)) > 0);
  }
  CHECK(total_failed_open() == settled);

  suite.RequireAllAlive();
  absl::Status shutdown = suite.Shutdown();
  INFO(shutdown.message());
  CHECK(shutdown.ok());
}

}  // namespace p402::e2e
