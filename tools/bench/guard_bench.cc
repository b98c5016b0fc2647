// p402-guard-bench: the billing guard's decision cost, measured in process (no gRPC): how many
// microseconds one Authorize (all six layers + reservation) plus its Commit costs, over the
// in-memory stores and over PostgreSQL (and optionally Redis for layers 1-4).
//
//   p402-guard-bench [--requests N] [--threads T] [--warmup N]
//   env P402_BENCH_PG_DSN   PostgreSQL DSN (tools/bench/guard.sh starts a throwaway server)
//   env P402_BENCH_REDIS_URL  redis://127.0.0.1:PORT (optional)
//
// Prints one TSV row per configuration: store, counters, threads, requests, seconds,
// ops_per_s, us_per_op (wall time per Authorize+Commit pair divided by threads: the cost a
// single request pays), cpu_us_per_op (process CPU time per pair).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/common/clock.h"
#include "libs/common/log.h"
#include "libs/metrics/registry.h"
#include "libs/store/pg_pool.h"
#include "services/policy/adapters/log_alert_sink.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "services/policy/adapters/redis_counter_store.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/kill_switch.h"
#include "services/policy/core/policy_cache.h"
#include "services/policy/core/tenant_admin.h"

namespace p402::policy {
namespace {

struct Args {
  int requests = 20000;
  int threads = 1;
  int warmup = 1000;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One bench: a fresh tenant with limits high enough that no layer denies, its key, and
// `requests` Authorize+Commit pairs spread over `threads`.
int RunOne(const char* store_name, PolicyStore& store, const char* counters_name,
           CounterStore& counters, const Args& args, int threads) {
  const Clock& clock = SystemClock::Get();
  metrics::Registry registry;
  LogAlertSink alerts(registry);
  PolicyCache cache(store, clock);
  KillSwitchMonitor kill_switch(store, counters, alerts);
  GuardConfig config;
  config.default_requests_per_hour = 1'000'000'000;
  config.default_max_concurrent = 1'000'000;
  config.default_daily_limit_micro_usd = 1'000'000'000'000;
  auto guard = Guard::Create(GuardDeps{store, clock, counters, alerts, cache, kill_switch}, config);
  if (!guard.ok()) {
    std::fprintf(stderr, "guard: %s\n", std::string(guard.status().message()).c_str());
    return 1;
  }
  TenantAdmin admin(store, clock);
  v1::CreateTenantRequest tenant;
  tenant.mutable_limits()->set_budget_micro_usd(1'000'000'000'000);
  auto created = admin.CreateTenant(tenant);
  if (!created.ok()) {
    std::fprintf(stderr, "tenant: %s\n", std::string(created.status().message()).c_str());
    return 1;
  }
  v1::CreateApiKeyRequest key_request;
  key_request.set_tenant_id(created->tenant().id());
  auto key = admin.CreateApiKey(key_request);
  if (!key.ok()) {
    std::fprintf(stderr, "key: %s\n", std::string(key.status().message()).c_str());
    return 1;
  }

  auto pair = [&](int i) -> bool {
    v1::AuthorizeRequest request;
    request.mutable_meta()->set_request_id("bench-" + std::to_string(i));
    request.mutable_credential()->set_api_key(key->secret());
    request.mutable_model()->set_provider("openai");
    request.mutable_model()->set_model("gpt-4o-mini");
    request.set_worst_case_micro_usd(1000 + i % 100);
    request.set_estimated_input_tokens(20);
    request.set_max_output_tokens(1000);
    request.set_output_per_mtok_micro_usd(600000);
    auto decision = (*guard)->Authorize(request);
    if (!decision.ok() || decision->decision() != v1::GUARD_DECISION_ALLOW) {
      std::fprintf(stderr, "authorize: %s\n",
                   decision.ok() ? decision->reason().c_str()
                                 : std::string(decision.status().message()).c_str());
      return false;
    }
    v1::CommitRequest commit;
    commit.mutable_meta()->set_request_id(request.meta().request_id());
    commit.set_reservation_id(decision->reservation().id());
    commit.set_actual_micro_usd(500);
    *commit.mutable_model() = request.model();
    return (*guard)->Commit(commit).ok();
  };

  for (int i = 0; i < args.warmup; ++i) {
    if (!pair(i)) return 1;
  }
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < args.requests && !failed; i = next++) {
        if (!pair(args.warmup + i)) failed = true;
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  if (failed) return 1;
  std::printf("%s\t%s\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\n", store_name, counters_name, threads,
              args.requests, seconds, args.requests / seconds, seconds * 1e6 * threads / args.requests,
              cpu * 1e6 / args.requests);
  std::fflush(stdout);
  return 0;
}

int Main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--requests") == 0) args.requests = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--threads") == 0) args.threads = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--warmup") == 0) args.warmup = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: p402-guard-bench [--requests N] [--threads T] [--warmup N]\n");
      return 2;
    }
  }
  if (args.requests < 1 || args.threads < 1 || args.warmup < 0) {
    std::fprintf(stderr, "p402-guard-bench: bad arguments\n");
    return 2;
  }
  log::Configure({.service = "guard-bench", .level = log::Level::kError});
  std::printf("store\tcounters\tthreads\trequests\tseconds\tops_per_s\tus_per_op\tcpu_us_per_op\n");

  std::unique_ptr<RedisCounterStore> redis;
  if (const char* url = std::getenv("P402_BENCH_REDIS_URL"); url != nullptr && *url != '\0') {
    auto options = ParseRedisUrl(url);
    if (!options.ok()) {
      std::fprintf(stderr, "redis url: %s\n", std::string(options.status().message()).c_str());
      return 2;
    }
    auto created = RedisCounterStore::Create(*options);
    if (!created.ok()) {
      std::fprintf(stderr, "redis: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    redis = *std::move(created);
  }

  std::vector<int> thread_counts = {1};
  if (args.threads > 1) thread_counts.push_back(args.threads);
  for (int threads : thread_counts) {
    InMemoryPolicyStore store;
    InMemoryCounterStore counters(SystemClock::Get());
    if (RunOne("memory", store, "memory", counters, args, threads) != 0) return 1;
  }
  const char* dsn = std::getenv("P402_BENCH_PG_DSN");
  if (dsn != nullptr && *dsn != '\0') {
    store::PgPoolOptions pool_options;
    pool_options.dsn = dsn;
    pool_options.max_size = 8;
    auto pool = store::PgPool::Create(pool_options);
    if (!pool.ok()) {
      std::fprintf(stderr, "pg: %s\n", std::string(pool.status().message()).c_str());
      return 1;
    }
    auto pg = PgPolicyStore::Open(**pool);
    if (!pg.ok()) {
      std::fprintf(stderr, "pg store: %s\n", std::string(pg.status().message()).c_str());
      return 1;
    }
    for (int threads : thread_counts) {
      InMemoryCounterStore counters(SystemClock::Get());
      if (RunOne("postgres", **pg, "memory", counters, args, threads) != 0) return 1;
      if (redis != nullptr && RunOne("postgres", **pg, "redis", *redis, args, threads) != 0) {
        return 1;
      }
    }
  }
  if (redis != nullptr) {
    for (int threads : thread_counts) {
      InMemoryPolicyStore store;
      if (RunOne("memory", store, "redis", *redis, args, threads) != 0) return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace p402::policy

int main(int argc, char** argv) { return p402::policy::Main(argc, argv); }
