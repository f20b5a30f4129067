-- Clocks for wrk scripts. wrk 4.1 is linked with LuaJIT, so the FFI reaches
-- clock_gettime: os.clock() is CPU time and os.time() has whole seconds,
-- neither of which can pace or time requests.
local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } millrace_timespec;
int clock_gettime(int clk_id, millrace_timespec *tp);
int getpid(void);
]]

local CLOCK_REALTIME = 0
local CLOCK_MONOTONIC = 1
local ts = ffi.new("millrace_timespec")

local M = {}

-- Milliseconds (fractional) on the monotonic clock: for schedules and latencies.
function M.monotonic_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- Wall-clock seconds and microseconds: for event timestamps.
function M.realtime()
  ffi.C.clock_gettime(CLOCK_REALTIME, ts)
  return tonumber(ts.tv_sec), math.floor(tonumber(ts.tv_nsec) / 1000)
end

-- 32 bits that differ between runs and processes, for unique event ids.
function M.run_nonce()
  ffi.C.clock_gettime(CLOCK_REALTIME, ts)
  local mixed = (tonumber(ts.tv_nsec) + tonumber(ts.tv_sec) * 7919 + ffi.C.getpid() * 104729)
  return mixed % 0x100000000
end

return M
