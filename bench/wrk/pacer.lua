-- A fixed send schedule for one wrk thread, for Debian's wrk 4.1, which has
-- no --rate. Slot k is due at start + k * interval whatever happened to the
-- earlier ones: when the server is slow, connections that come free send the
-- overdue slots at once, so a stall does not lower the offered rate (an open
-- model), as long as the thread has enough connections.
--
-- wrk calls delay() on a connection before each request, then request()
-- when the returned delay has passed. delay() claims the next slot;
-- request() takes the oldest claimed slot not yet sent, which is the slot
-- that request stands for (connections that fire in the same millisecond may
-- swap slots with each other, which moves their latencies by under 1 ms).
local clock = require("clock")

local Pacer = {}
Pacer.__index = Pacer

local M = {}

-- rate: requests per second for this thread. The schedule starts now, not
-- at the first connection: a connection that is slow to be accepted (the
-- server's listen backlog overflowing) sends its overdue slots late and
-- shows that wait in the latencies, instead of shifting the whole schedule.
function M.new(rate)
  assert(rate > 0, "pacer rate must be positive")
  return setmetatable({ interval_ms = 1000 / rate, start = clock.monotonic_ms(), claimed = 0, sent = 0,
    slots = {} }, Pacer)
end

-- Milliseconds until the next slot; 0 when it is due or overdue. Rounded up,
-- since wrk's timers have whole milliseconds and a request sent before its
-- slot would make the measured latency too short.
function Pacer:delay()
  local now = clock.monotonic_ms()
  local slot = self.start + self.claimed * self.interval_ms
  self.claimed = self.claimed + 1
  self.slots[self.claimed] = slot
  local wait = slot - now
  if wait <= 0 then return 0 end
  return math.ceil(wait)
end

-- The scheduled time (monotonic ms) of the request being sent now, or nil
-- when no slot was claimed (wrk builds one request up front to check it).
function Pacer:take()
  if self.sent == self.claimed then return nil end
  self.sent = self.sent + 1
  local slot = self.slots[self.sent]
  self.slots[self.sent] = nil
  return slot
end

return M
