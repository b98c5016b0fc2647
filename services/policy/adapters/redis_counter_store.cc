#include "services/policy/adapters/redis_counter_store.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/log.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Longest key lifetime we ask Redis for (10 years): PEXPIRE refuses values whose absolute time
// overflows, and nothing the guard counts lives that long.
constexpr int64_t kMaxTtlMs = int64_t{10} * 365 * 24 * 3600 * 1000;

std::string TtlArg(int64_t ttl_ms) { return std::to_string(std::min(ttl_ms, kMaxTtlMs)); }

// ---- Lua scripts: each is one atomic step. KEYS[1] is the prefixed key. Numbers that must keep
// full precision are written with %.17g (Lua's own number->string conversion uses %.14g).

// Semantics match InMemoryCounterStore operation for operation (same double arithmetic in the
// same order), so the shared contract test holds for both. Key lifetimes are relative PEXPIREs
// (clamped to kMaxTtlMs) rather than absolute times: the callers' clock and Redis' agree in
// production, and relative expiries keep the store correct under a test's fake time too.

// ARGV: capacity, refill_period_ms, now_ms, bucket ttl_ms -> {allowed 0|1, retry_after_ms}
constexpr char kTakeTokenLua[] = R"lua(
local cap, period, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local eps = 1e-9
local h = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, ts = tonumber(h[1]), tonumber(h[2])
if tokens == nil or ts == nil then
  tokens, ts = cap, now
elseif now > ts then
  if now - ts >= period then tokens = cap else tokens = tokens + (now - ts) * cap / period end
  ts = now
end
if tokens > cap then tokens = cap end
local allowed, retry = 0, 0
if tokens >= 1 - eps then
  tokens = math.max(0, tokens - 1)
  allowed = 1
else
  retry = math.ceil((1 - tokens) * period / cap - eps)
  retry = math.max(1, math.min(retry, period, 9007199254740992))
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, retry}
)lua";

// ARGV: delta (>= 0), limit, ttl_ms -> {applied 0|1, value as a string (exact int64)}.
// The comparison runs on Lua doubles: exact below 2^53, far above any counter we keep. An add
// that would overflow int64 is refused like one over the limit.
constexpr char kAddIfWithinLua[] = R"lua(
local cur = redis.call('GET', KEYS[1]) or '0'
if tonumber(cur) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, cur} end
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then
  if string.find(r.err, 'overflow', 1, true) then return {0, cur} end
  return r
end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, redis.call('GET', KEYS[1])}
)lua";

// ARGV: delta (any sign), ttl_ms -> value after as a string: clamped at 0, saturating at
// INT64_MAX (the value is never negative, so only a positive delta can overflow).
constexpr char kAddLua[] = R"lua(
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then
  if not string.find(r.err, 'overflow', 1, true) then return r end
  redis.call('SET', KEYS[1], '9223372036854775807', 'KEEPTTL')
elseif r < 0 then
  redis.call('SET', KEYS[1], '0', 'KEEPTTL')
end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
)lua";

// ARGV: member, limit, expires_ms, now_ms, max_ttl_ms -> {acquired 0|1, in_use}. Score = member
// expiry (caller's time); a member that already holds a slot gets the new expiry. The key lives
// until its latest member expires, so an abandoned set vanishes.
constexpr char kAcquireSlotLua[] = R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local n = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if n >= tonumber(ARGV[2]) then return {0, n} end
  n = n + 1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.min(tonumber(top[2]) - tonumber(ARGV[4]), tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, math.ceil(ttl))))
return {1, n}
)lua";

// ARGV: value, max_count, ttl_ms -> {count, mean, m2} BEFORE the sample, as strings (a Lua
// number would be truncated to an integer reply). Welford while count < max_count, then
// exponential forgetting at alpha = 1/max_count, exactly as InMemoryCounterStore (see its header).
constexpr char kObserveSampleLua[] = R"lua(
local h = redis.call('HMGET', KEYS[1], 'n', 'mean', 'm2')
local n, mean, m2 = tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0
local prior = {string.format('%d', n), string.format('%.17g', mean), string.format('%.17g', m2)}
local x, maxc = tonumber(ARGV[1]), tonumber(ARGV[2])
local diff = x - mean
if n < maxc then
  n = n + 1
  mean = mean + diff / n
  m2 = m2 + diff * (x - mean)
else
  local alpha = 1.0 / maxc
  local var_before = 0.0
  if n > 1 then var_before = m2 / (n - 1) end
  n = maxc
  mean = mean + alpha * diff
  if maxc == 1 then
    m2 = 0.0
  else
    m2 = ((1.0 - alpha) * (var_before + alpha * diff * diff)) * (maxc - 1)
  end
end
redis.call('HSET', KEYS[1], 'n', string.format('%d', n), 'mean', string.format('%.17g', mean),
           'm2', string.format('%.17g', m2))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return prior
)lua";

enum ScriptId { kTakeToken, kAddIfWithin, kAdd, kAcquireSlot, kObserveSample, kScriptCount };
constexpr const char* kScripts[kScriptCount] = {kTakeTokenLua, kAddIfWithinLua, kAddLua,
                                                kAcquireSlotLua, kObserveSampleLua};

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) {
      freeReplyObject(r);
    }
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) {
      redisFree(c);
    }
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis writes with write(2): a reset connection would raise SIGPIPE and kill a process that
// has not ignored it (test binaries). Block it in this thread around the I/O and discard one
// raised meanwhile (libpq's approach), without touching process-wide signal state.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    sigset_t pending;
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string ReplyText(const redisReply* r) {
  return r->str != nullptr ? std::string(r->str, r->len) : std::string();
}

// Error replies: conditions of the server that pass (loading, failover, scripts busy) are
// Unavailable; everything else (WRONGTYPE, script errors) is Internal.
absl::Status ErrorReplyStatus(const redisReply* r) {
  std::string text = ReplyText(r);
  for (const char* transient : {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "OOM", "TRYAGAIN",
                                "CLUSTERDOWN", "NOREPLICAS", "MISCONF", "NOAUTH"}) {
    if (text.rfind(transient, 0) == 0) {
      return Unavailable("redis: " + text);
    }
  }
  return Internal("redis: " + text);
}

absl::Status Unexpected(const redisReply* r, std::string_view what) {
  return Internal("redis: unexpected reply type " + std::to_string(r->type) + " for " +
                  std::string(what));
}

absl::StatusOr<int64_t> IntOf(const redisReply* r, std::string_view what) {
  if (r == nullptr) {
    return Internal("redis: missing reply element for " + std::string(what));
  }
  if (r->type == REDIS_REPLY_INTEGER) {
    return static_cast<int64_t>(r->integer);
  }
  if (r->type == REDIS_REPLY_STRING) {
    std::string text = ReplyText(r);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && errno == 0 && end == text.c_str() + text.size()) {
      return static_cast<int64_t>(v);
    }
    return Internal("redis: not an integer for " + std::string(what));
  }
  return Unexpected(r, what);
}

absl::StatusOr<double> DoubleOf(const redisReply* r, std::string_view what) {
  if (r != nullptr && r->type == REDIS_REPLY_STRING) {
    std::string text = ReplyText(r);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(v)) {
      return v;
    }
    return Internal("redis: not a number for " + std::string(what));
  }
  return IntOf(r, what);  // integer replies; errors for anything else
}

// The array elements of `r` when it is an array of at least `n`.
absl::Status ExpectArray(const redisReply* r, size_t n, std::string_view what) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < n || r->element == nullptr) {
    return Unexpected(r, what);
  }
  return absl::OkStatus();
}

// The two integers of a {a, b} script reply (or the failure that came instead).
absl::StatusOr<std::pair<int64_t, int64_t>> IntPair(const absl::StatusOr<ReplyPtr>& reply,
                                                    std::string_view what) {
  if (!reply.ok()) {
    return reply.status();
  }
  const redisReply* r = reply->get();
  if (absl::Status shape = ExpectArray(r, 2, what); !shape.ok()) {
    return shape;
  }
  auto a = IntOf(r->element[0], what);
  auto b = IntOf(r->element[1], what);
  if (!a.ok() || !b.ok()) {
    return !a.ok() ? a.status() : b.status();
  }
  return std::make_pair(*a, *b);
}

}  // namespace

// ---- Impl: the connection pool. -------------------------------------------------------------

struct RedisCounterStore::Impl {
  explicit Impl(RedisOptions o) : options(std::move(o)) {}

  // What happened to a connection during a command.
  enum class Io { kOk, kTimeout, kBroken };

  // A pooled or new connection; Unavailable when in the fail-fast window, when the pool stays
  // exhausted for command_timeout, or when connecting fails (which opens the window).
  absl::StatusOr<ContextPtr> Acquire();
  // Hands `ctx` back: kept when kOk; dropped otherwise. A timeout opens the fail-fast window (a
  // hung Redis would otherwise cost command_timeout per request); a broken connection (the
  // server closed it: restart, failover) drops the idle ones too, as they are likely stale.
  void Release(ContextPtr ctx, Io io, const std::string& error);
  absl::StatusOr<ContextPtr> Connect();
  // Opens the fail-fast window. Requires mu.
  void EnterBackoff(const std::string& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Sends argv on `ctx`. A reply (including an error reply) is returned as is; an I/O failure
  // or timeout is Unavailable and sets *io.
  absl::StatusOr<ReplyPtr> RunOn(redisContext* ctx, const std::vector<std::string>& argv, Io* io);
  // One command on a pooled connection; error replies mapped to a status.
  absl::StatusOr<ReplyPtr> Command(const std::vector<std::string>& argv);
  // Runs script `id` on key `key` with `args`: EVALSHA, EVAL when the server lost it.
  absl::StatusOr<ReplyPtr> Eval(ScriptId id, std::string_view key, std::vector<std::string> args);
  bool CanProceed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return !idle.empty() || open < options.max_connections;
  }

  const RedisOptions options;
  absl::Mutex mu;
  std::vector<ContextPtr> idle ABSL_GUARDED_BY(mu);
  int open ABSL_GUARDED_BY(mu) = 0;  // idle + in use
  SteadyClock::time_point fail_fast_until ABSL_GUARDED_BY(mu);
  std::string last_error ABSL_GUARDED_BY(mu);
  bool down ABSL_GUARDED_BY(mu) = false;               // for logging transitions only
  std::string shas[kScriptCount] ABSL_GUARDED_BY(mu);  // learned from SCRIPT LOAD
};

absl::StatusOr<ContextPtr> RedisCounterStore::Impl::Acquire() {
  {
    absl::MutexLock lock(&mu);
    if (SteadyClock::now() < fail_fast_until) {
      return Unavailable("redis: down, not retrying yet (last error: " + last_error + ")");
    }
    if (!mu.AwaitWithTimeout(absl::Condition(this, &Impl::CanProceed),
                             absl::FromChrono(options.command_timeout))) {
      return Unavailable("redis: all " + std::to_string(options.max_connections) +
                         " connections busy");
    }
    if (!idle.empty()) {
      ContextPtr ctx = std::move(idle.back());
      idle.pop_back();
      return ctx;
    }
    ++open;  // reserve the slot; connect outside the lock
  }
  auto ctx = Connect();
  if (!ctx.ok()) {
    absl::MutexLock lock(&mu);
    --open;
    EnterBackoff(MessageOf(ctx.status()));
  }
  return ctx;
}

void RedisCounterStore::Impl::EnterBackoff(const std::string& error) {
  fail_fast_until = SteadyClock::now() + options.reconnect_backoff;
  last_error = error;
  if (!down) {
    down = true;
    // Once per outage, not per request.
    P402_LOG(kWarn, "redis counter store unavailable; guard layers 1-4 fail open")
        .Field("error", error);
  }
}

void RedisCounterStore::Impl::Release(ContextPtr ctx, Io io, const std::string& error) {
  std::vector<ContextPtr> dropped;
  {
    absl::MutexLock lock(&mu);
    if (io == Io::kOk) {
      idle.push_back(std::move(ctx));
      if (down) {
        down = false;
        P402_LOG(kInfo, "redis counter store reachable again")
            .Field("redis", options.host + ":" + std::to_string(options.port));
      }
      return;
    }
    --open;
    if (io == Io::kTimeout) {
      EnterBackoff(error);
    } else {
      open -= static_cast<int>(idle.size());
      dropped.swap(idle);
    }
  }
  // `ctx` and `dropped` are closed here, outside the lock.
}

absl::StatusOr<ContextPtr> RedisCounterStore::Impl::Connect() {
  ScopedSigpipeBlock no_sigpipe;
  std::string where = options.host + ":" + std::to_string(options.port);
  ContextPtr ctx(redisConnectWithTimeout(options.host.c_str(), options.port,
                                         ToTimeval(options.connect_timeout)));
  if (ctx == nullptr) {
    return Unavailable("redis: cannot allocate a connection to " + where);
  }
  if (ctx->err != 0) {
    return Unavailable("redis: connect to " + where + ": " + std::string(ctx->errstr));
  }
  if (redisSetTimeout(ctx.get(), ToTimeval(options.command_timeout)) != REDIS_OK) {
    return Unavailable("redis: cannot set timeouts on " + where);
  }
  auto setup = [&](std::vector<std::string> argv, std::string_view what) -> absl::Status {
    Io io = Io::kOk;
    auto reply = RunOn(ctx.get(), argv, &io);
    if (!reply.ok()) {
      return reply.status();
    }
    if ((*reply)->type == REDIS_REPLY_STATUS) {
      return absl::OkStatus();
    }
    // Redis' error text (e.g. "WRONGPASS invalid username-password pair") never echoes the
    // password; ours names only the step.
    std::string text = (*reply)->type == REDIS_REPLY_ERROR ? ReplyText(reply->get()) : "?";
    return Unavailable("redis: " + std::string(what) + " on " + where + " failed: " + text);
  };
  if (!options.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options.username.empty()) {
      auth.push_back(options.username);
    }
    auth.push_back(options.password);
    absl::Status s = setup(std::move(auth), "AUTH");
    if (!s.ok()) {
      return s;
    }
  }
  if (options.db != 0) {
    absl::Status s = setup({"SELECT", std::to_string(options.db)}, "SELECT");
    if (!s.ok()) {
      return s;
    }
  }
  return ctx;
}

absl::StatusOr<ReplyPtr> RedisCounterStore::Impl::RunOn(redisContext* ctx,
                                                        const std::vector<std::string>& argv,
                                                        Io* io) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  ScopedSigpipeBlock no_sigpipe;
  errno = 0;
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
  if (reply == nullptr) {
    const bool timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    *io = timed_out ? Io::kTimeout : Io::kBroken;
    if (timed_out) {
      return Unavailable("redis: timed out after " +
                         std::to_string(options.command_timeout.count()) + " ms");
    }
    return Unavailable("redis: " + std::string(ctx->err != 0 ? ctx->errstr : "no reply"));
  }
  return reply;
}

absl::StatusOr<ReplyPtr> RedisCounterStore::Impl::Command(const std::vector<std::string>& argv) {
  auto ctx = Acquire();
  if (!ctx.ok()) {
    return ctx.status();
  }
  Io io = Io::kOk;
  auto reply = RunOn(ctx->get(), argv, &io);
  Release(std::move(*ctx), io, reply.ok() ? "" : MessageOf(reply.status()));
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(reply->get());
  }
  return reply;
}

absl::StatusOr<ReplyPtr> RedisCounterStore::Impl::Eval(ScriptId id, std::string_view key,
                                                       std::vector<std::string> args) {
  auto ctx = Acquire();
  if (!ctx.ok()) {
    return ctx.status();
  }
  Io io = Io::kOk;
  std::string sha;
  {
    absl::MutexLock lock(&mu);
    sha = shas[id];
  }
  absl::StatusOr<ReplyPtr> reply = Internal("redis: script not run");
  if (sha.empty()) {
    // First use in this process: learn the script's SHA1 from the server (no SHA1 here).
    reply = RunOn(ctx->get(), {"SCRIPT", "LOAD", kScripts[id]}, &io);
    if (reply.ok() && (*reply)->type == REDIS_REPLY_STRING) {
      sha = ReplyText(reply->get());
      absl::MutexLock lock(&mu);
      shas[id] = sha;
    }
  }
  if (!sha.empty() && io == Io::kOk) {
    std::vector<std::string> argv = {"EVALSHA", sha, "1", options.key_prefix + std::string(key)};
    argv.insert(argv.end(), args.begin(), args.end());
    reply = RunOn(ctx->get(), argv, &io);
    if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR &&
        ReplyText(reply->get()).rfind("NOSCRIPT", 0) == 0) {
      // The server restarted or flushed its script cache: EVAL runs and caches it again.
      argv[0] = "EVAL";
      argv[1] = kScripts[id];
      reply = RunOn(ctx->get(), argv, &io);
    }
  }
  Release(std::move(*ctx), io, reply.ok() ? "" : MessageOf(reply.status()));
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(reply->get());
  }
  return reply;
}

// ---- RedisCounterStore ----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<RedisCounterStore>> RedisCounterStore::Create(RedisOptions o) {
  if (o.host.empty()) {
    return InvalidArgument("redis: host is empty");
  }
  if (o.port < 1 || o.port > 65535) {
    return InvalidArgument("redis: port must be 1..65535");
  }
  if (o.db < 0) {
    return InvalidArgument("redis: db must be >= 0");
  }
  if (o.connect_timeout.count() < 1 || o.command_timeout.count() < 1 ||
      o.reconnect_backoff.count() < 0 || o.max_connections < 1) {
    return InvalidArgument(
        "redis: timeouts and max_connections must be >= 1 (reconnect_backoff >= 0)");
  }
  return std::unique_ptr<RedisCounterStore>(
      new RedisCounterStore(std::make_unique<Impl>(std::move(o))));
}

RedisCounterStore::RedisCounterStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisCounterStore::~RedisCounterStore() = default;

std::string RedisCounterStore::DebugString() const {
  return "redis://" + impl_->options.host + ":" + std::to_string(impl_->options.port) + "/" +
         std::to_string(impl_->options.db);
}

absl::Status RedisCounterStore::Count(absl::Status status) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
  return status;
}

absl::StatusOr<TokenBucketResult> RedisCounterStore::TakeToken(std::string_view key,
                                                               int64_t capacity,
                                                               int64_t refill_period_ms,
                                                               int64_t now_unix_ms) {
  if (capacity < 1 || refill_period_ms < 1) {
    return InvalidArgument("TakeToken: capacity and refill_period_ms must be >= 1");
  }
  auto pair = IntPair(impl_->Eval(kTakeToken, key,
                                  {std::to_string(capacity), std::to_string(refill_period_ms),
                                   std::to_string(now_unix_ms), TtlArg(refill_period_ms)}),
                      "TakeToken");
  if (!pair.ok()) {
    return Count(pair.status());
  }
  return TokenBucketResult{.allowed = pair->first == 1,
                           .retry_after_ms = pair->first == 1 ? 0 : pair->second};
}

absl::StatusOr<BoundedAddResult> RedisCounterStore::AddIfWithin(std::string_view key, int64_t delta,
                                                                int64_t limit, int64_t ttl_ms) {
  if (delta < 0 || ttl_ms < 1) {
    return InvalidArgument("AddIfWithin: delta must be >= 0 and ttl_ms >= 1");
  }
  auto pair = IntPair(impl_->Eval(kAddIfWithin, key,
                                  {std::to_string(delta), std::to_string(limit), TtlArg(ttl_ms)}),
                      "AddIfWithin");
  if (!pair.ok()) {
    return Count(pair.status());
  }
  return BoundedAddResult{.applied = pair->first == 1, .value = pair->second};
}

absl::StatusOr<int64_t> RedisCounterStore::Add(std::string_view key, int64_t delta,
                                               int64_t ttl_ms) {
  if (ttl_ms < 1) {
    return InvalidArgument("Add: ttl_ms must be >= 1");
  }
  auto reply = impl_->Eval(kAdd, key, {std::to_string(delta), TtlArg(ttl_ms)});
  if (!reply.ok()) {
    return Count(reply.status());
  }
  auto value = IntOf(reply->get(), "Add");
  if (!value.ok()) {
    return Count(value.status());
  }
  return *value;
}

absl::StatusOr<int64_t> RedisCounterStore::Get(std::string_view key) {
  auto reply = impl_->Command({"GET", impl_->options.key_prefix + std::string(key)});
  if (!reply.ok()) {
    return Count(reply.status());
  }
  if ((*reply)->type == REDIS_REPLY_NIL) {
    return 0;
  }
  auto value = IntOf(reply->get(), "Get");
  if (!value.ok()) {
    return Count(value.status());
  }
  return *value;
}

absl::StatusOr<SlotResult> RedisCounterStore::AcquireSlot(std::string_view key,
                                                          std::string_view member, int64_t limit,
                                                          int64_t expires_unix_ms,
                                                          int64_t now_unix_ms) {
  if (member.empty() || limit < 1 || expires_unix_ms <= now_unix_ms) {
    return InvalidArgument(
        "AcquireSlot: member must be set, limit >= 1 and expires_unix_ms after now_unix_ms");
  }
  auto pair = IntPair(
      impl_->Eval(kAcquireSlot, key,
                  {std::string(member), std::to_string(limit), std::to_string(expires_unix_ms),
                   std::to_string(now_unix_ms), std::to_string(kMaxTtlMs)}),
      "AcquireSlot");
  if (!pair.ok()) {
    return Count(pair.status());
  }
  return SlotResult{.acquired = pair->first == 1, .in_use = pair->second};
}

absl::Status RedisCounterStore::ReleaseSlot(std::string_view key, std::string_view member) {
  auto reply =
      impl_->Command({"ZREM", impl_->options.key_prefix + std::string(key), std::string(member)});
  if (!reply.ok()) {
    return Count(reply.status());
  }
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return Count(Unexpected(reply->get(), "ReleaseSlot"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SampleStats> RedisCounterStore::ObserveSample(std::string_view key, double value,
                                                             int64_t max_count, int64_t ttl_ms) {
  if (!std::isfinite(value) || max_count < 1 || ttl_ms < 1) {
    return InvalidArgument("ObserveSample: value must be finite, max_count and ttl_ms >= 1");
  }
  auto reply =
      impl_->Eval(kObserveSample, key, {Fmt(value), std::to_string(max_count), TtlArg(ttl_ms)});
  if (!reply.ok()) {
    return Count(reply.status());
  }
  const redisReply* r = reply->get();
  absl::Status shape = ExpectArray(r, 3, "ObserveSample");
  if (!shape.ok()) {
    return Count(shape);
  }
  auto count = IntOf(r->element[0], "ObserveSample");
  auto mean = DoubleOf(r->element[1], "ObserveSample");
  auto m2 = DoubleOf(r->element[2], "ObserveSample");
  if (!count.ok() || !mean.ok() || !m2.ok()) {
    return Count(!count.ok() ? count.status() : !mean.ok() ? mean.status() : m2.status());
  }
  return SampleStats{.count = *count, .mean = *mean, .m2 = *m2};
}

absl::Status RedisCounterStore::Ping() {
  auto reply = impl_->Command({"PING"});
  if (!reply.ok()) {
    return Count(reply.status());
  }
  if ((*reply)->type != REDIS_REPLY_STATUS || ReplyText(reply->get()) != "PONG") {
    return Count(Unexpected(reply->get(), "PING"));
  }
  return absl::OkStatus();
}

}  // namespace p402::policy
