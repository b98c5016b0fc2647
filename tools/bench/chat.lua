-- tools/bench/chat.lua: wrk script. POSTs one fixed OpenAI chat-completions request (BODY_FILE,
-- default payload.json next to this file) on every call and, at the end, prints one
-- machine-readable line:  RESULT {json}  (requests, rps, latency percentiles in µs, error counts).
-- Env: BODY_FILE, PACE_DELAY_MS (below).
-- Extra headers come from wrk's own -H flags; this script only adds Content-Type and, when no
-- Authorization header was given, a dummy bearer key (the mock accepts any key).
-- wrk counts an answer with status >= 400 in err_status; any non-zero error makes a row invalid.
local here = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
local body_file = os.getenv("BODY_FILE") or (here .. "payload.json")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
if wrk.headers["Authorization"] == nil and wrk.headers["authorization"] == nil then
  wrk.headers["Authorization"] = "Bearer sk-bench-mock"
end

-- Paced mode (run.sh's PACED cells): each connection waits a random think time with mean
-- PACE_DELAY_MS between its answer and its next request, so N connections offer about
-- N * 1000 / PACE_DELAY_MS req/s instead of saturating the server. The think times are exponential
-- (connections act as independent Poisson sources), so requests do not arrive in bursts of N as
-- they would with a fixed delay (all connections start together and would stay in step). wrk
-- starts the latency clock when the request is written: think time is not part of the latency.
local pace = tonumber(os.getenv("PACE_DELAY_MS") or "")
if pace ~= nil and pace > 0 then
  init = function(args)
    math.randomseed(os.time() + math.floor(os.clock() * 1e6) + math.floor(pace))
  end
  delay = function()
    -- wrk takes whole milliseconds; rounding keeps the mean.
    return math.floor(-math.log(1 - math.random()) * pace + 0.5)
  end
end

done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"mean_us":%.1f,"stdev_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, s, summary.requests / s, summary.bytes,
    latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
