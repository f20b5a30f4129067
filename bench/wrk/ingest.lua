-- wrk script: POST store events to millrace-producer's /v1/events, at a fixed
-- rate or as fast as the connections allow, and print one summary line
-- "JSON {...}" at the end.
--
--   MILLRACE_WRK_RATE=1500 MILLRACE_WRK_THREADS=2 \
--     wrk -t 2 -c 32 -d 10s -s bench/wrk/ingest.lua http://127.0.0.1:8080/v1/events
--
-- Environment (wrk passes no options of its own to scripts):
--   MILLRACE_WRK_RATE     requests/s over all threads; unset or 0: no pacing
--   MILLRACE_WRK_THREADS  wrk's -t, required with a rate (a thread cannot
--                         learn how many others there are)
--   MILLRACE_WRK_BATCH    events per request: 1 (default) sends one JSON
--                         object, more send NDJSON
--   MILLRACE_WRK_STORES   store ids 1..N (default 50)
--   MILLRACE_WRK_ACKS     a directory: each thread writes acks-<n>.tsv with
--                         "id<TAB>partition<TAB>offset" for every event the
--                         service reported as accepted by Kafka
--
-- Latency: wrk's own figures count from the moment a request is written
-- (latency_ms), so a slow response that delays the next send on its
-- connection hides that wait (coordinated omission). With a rate, the script
-- also counts from each request's scheduled slot (scheduled_latency_ms),
-- which includes it.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path

local clock = require("clock")
local events = require("events")
local pacer = require("pacer")

local function env_number(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return assert(tonumber(v), name .. " must be a number, not " .. v)
end

local rate = env_number("MILLRACE_WRK_RATE", 0)
local batch = env_number("MILLRACE_WRK_BATCH", 1)
local stores = env_number("MILLRACE_WRK_STORES", 50)
local acks_dir = os.getenv("MILLRACE_WRK_ACKS")

-- Main state: number the threads and keep them for done().
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_index", #threads)
end

-- Thread state.
local generator, schedule, acks_file, path
local head  -- request line and headers up to "Content-Length: "
sent = 0              -- paced requests written
statuses = {}         -- HTTP status -> responses
accepted_events = 0   -- events the responses called "accepted"
scheduled = {}        -- latencies from the scheduled slot, ms
local pending = {}    -- first event id of a request in flight -> its slot

function init(args)
  generator = events.new(thread_index, stores)
  if rate > 0 then
    local per_thread = assert(env_number("MILLRACE_WRK_THREADS", nil),
      "MILLRACE_WRK_THREADS (wrk's -t) is required with MILLRACE_WRK_RATE")
    schedule = pacer.new(rate / per_thread)
    delay = function() return schedule:delay() end
  end
  if acks_dir then
    acks_file = assert(io.open(string.format("%s/acks-%d.tsv", acks_dir, thread_index), "w"))
    acks_file:setvbuf("line")  -- wrk has no per-thread exit hook to flush in
  end
  path = (wrk.path ~= "/" and wrk.path) or "/v1/events"
  -- What wrk.format would write, formatted once: it formats every header
  -- line again for every request.
  head = table.concat({ "POST " .. path .. " HTTP/1.1", "Host: " .. wrk.headers["Host"],
    "Content-Type: " .. (batch > 1 and "application/x-ndjson" or "application/json"),
    "Content-Length: " }, "\r\n")
end

function request()
  local first, body = generator:body(batch)
  -- Without a schedule, wrk's own request count says what was sent (this
  -- is also called once to check the request before the run).
  local slot = schedule and schedule:take()
  if slot then
    pending[first] = slot
    sent = sent + 1
  end
  return head .. #body .. "\r\n\r\n" .. body
end

-- The service writes compact JSON, so plain searches suffice: Lua patterns
-- over a 100-event response (%s*, %b[]) cost the load generator more CPU
-- than the service spent writing it. Where the run only counts, the
-- response's leading summary says how many were accepted.
local kAccepted = '"status":"accepted"'

function response(status, _, body)
  local now = clock.monotonic_ms()
  statuses[status] = (statuses[status] or 0) + 1
  if schedule then
    local results = body:find('"results":[', 1, true)
    local id_at = results and body:find('"id":"', results, true)
    if id_at then
      local first_id = body:sub(id_at + 6, body:find('"', id_at + 6, true) - 1)
      if pending[first_id] then
        scheduled[#scheduled + 1] = now - pending[first_id]
        pending[first_id] = nil
      end
    end
  end
  if not acks_file then
    -- {"accepted":N,... counts queued events too under ?ack=none (202),
    -- which were not acknowledged: those are not counted.
    local n = status ~= 202 and body:match('^{"accepted":(%d+)')
    if n then accepted_events = accepted_events + tonumber(n) end
    return
  end
  local results = body:find('"results":[', 1, true)
  if not results then return end
  for result in body:sub(results):gmatch("%b{}") do
    if result:find(kAccepted, 1, true) then
      accepted_events = accepted_events + 1
      acks_file:write(result:match('"id":"([^"]*)"'), "\t", result:match('"partition":(%d+)'), "\t",
        result:match('"offset":(%d+)'), "\n")
    end
  end
end

-- Nearest-rank percentile of a sorted array.
local function percentile(sorted, p)
  if #sorted == 0 then return nil end
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

local function json(value)
  local t = type(value)
  if t == "table" then
    local parts = {}
    for k, v in pairs(value) do parts[#parts + 1] = string.format("%q:%s", tostring(k), json(v)) end
    table.sort(parts)
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    return value == math.floor(value) and string.format("%d", value) or string.format("%.3f", value)
  elseif t == "nil" then
    return "null"
  end
  return string.format("%q", tostring(value))
end

function done(summary, latency, _)
  local out = { threads = #threads, target_rate = rate > 0 and rate or nil, events_per_request = batch,
    requests = summary.requests, sent = rate > 0 and 0 or nil, accepted_events = 0, statuses = {},
    duration_s = summary.duration / 1e6, errors = summary.errors }
  local all = {}
  for _, thread in ipairs(threads) do
    if out.sent then out.sent = out.sent + thread:get("sent") end
    out.accepted_events = out.accepted_events + thread:get("accepted_events")
    for status, n in pairs(thread:get("statuses")) do
      out.statuses[tostring(status)] = (out.statuses[tostring(status)] or 0) + n
    end
    for _, v in ipairs(thread:get("scheduled")) do all[#all + 1] = v end
  end
  out.rate = summary.requests / out.duration_s
  out.events_per_s = out.accepted_events / out.duration_s
  out.latency_ms = { p50 = latency:percentile(50) / 1000, p99 = latency:percentile(99) / 1000,
    p999 = latency:percentile(99.9) / 1000, max = latency.max / 1000 }
  -- A paced run that got no answer in time (a short run on a busy machine)
  -- has no latency from its schedule: left out, and the report says n/a.
  if rate > 0 and #all > 0 then
    table.sort(all)
    out.scheduled_latency_ms = { p50 = percentile(all, 50), p99 = percentile(all, 99),
      p999 = percentile(all, 99.9), max = all[#all], samples = #all }
  end
  io.write("JSON ", json(out), "\n")
end
