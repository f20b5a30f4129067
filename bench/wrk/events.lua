-- Store events for load tests, shaped like `millrace generate`'s: stores
-- 1..N, both event types, about 58% of discounts at or below the sink's 20%
-- threshold (30% full price, the rest spread over 0.0 .. 50.0), current
-- timestamps, and ids that are unique across threads and runs.
local clock = require("clock")

local categories = {
  "Notebooks", "Pens", "Backpacks", "Pencils", "Markers", "Binders", "Folders", "Staplers",
  "Scissors", "Calculators", "Erasers", "Highlighters", "Rulers", "Sticky Notes", "Desk Lamps",
  "Lunch Boxes", "Water Bottles", "Envelopes", "Paper Clips", "Art Supplies",
}
local variants = { "red", "blue", "green", "black", "white", "yellow", "purple", "orange" }

local Generator = {}
Generator.__index = Generator

local M = {}

-- stream: a number no other generator of this run uses (the wrk thread);
-- stores: how many stores send events.
function M.new(stream, stores)
  local nonce = clock.run_nonce()
  math.randomseed(nonce + stream)
  stream = stream % 0x10000
  -- UUID text: run nonce, stream, which id of the event, sequence number.
  -- Only the sequence number changes, so the rest is formatted once.
  local function uuid_prefix(which)
    return string.format("%08x-%04x-4000-8%03x-", nonce, stream, which)
  end
  return setmetatable({ stores = stores or 50, count = 0, second = -1, date = "",
    open = '{"id":"' .. uuid_prefix(0), request_id = '","request_id":"' .. uuid_prefix(1),
    id_prefix = uuid_prefix(0), parts = {} }, Generator)
end

-- The contract's timestamp form, formatting the date once per second.
function Generator:timestamp()
  local sec, usec = clock.realtime()
  if sec ~= self.second then
    self.second = sec
    self.date = os.date("!%Y-%m-%dT%H:%M:%S", sec)
  end
  return string.format("%s.%06dZ", self.date, usec)
end

local kPoolSize = 4096

local function random_fields(stores)
  local store = math.random(1, stores)
  local category = math.random(1, #categories)
  local discount = "0"
  if math.random() >= 0.3 then
    local tenths = math.random(0, 500)
    discount = string.format("%d.%d", math.floor(tenths / 10), tenths % 10)
  end
  local cents = math.random(50, 50000)
  local head = string.format(
    '"store_id":%d,"store_fqdn":"store-%03d.millrace.local",' ..
    '"store_ip":"10.0.%d.%d","cust_id":%d,"category":"%s","sku":%d,"price":%d.%02d,"qty":%d,' ..
    '"discount":%s,"gift_wrap":%s,"variant":"%s","priority_shipping":%s,',
    store, store, math.floor(store / 256) % 256, store % 256,
    math.random(1, 100000), categories[category], 100000 + (category - 1) * 45000 + math.random(0, 299) * 150,
    math.floor(cents / 100), cents % 100, math.random(1, 50), discount,
    tostring(math.random() < 0.25), variants[math.random(1, #variants)], tostring(math.random() < 0.3))
  local tail = string.format('"contact_me":%s,"is_return":%s,"event_type":"%s"}',
    math.random() < 0.5 and '"github.com/miztiik"' or "null",
    tostring(math.random() < 0.1), math.random() < 0.5 and "sale_event" or "inventory_event")
  -- The text around the timestamp, joined once: an event is then seven
  -- pieces of a request's body (see Generator:append).
  return { before_ts = '",' .. head .. '"ts":"', after_ts = '",' .. tail }
end

-- Appends one event as compact JSON (contract order, event_type last) to
-- `parts` after index n: fresh ids, the timestamp `ts`, the other fields
-- from the pool. Returns the new length and the id's sequence number.
-- Pieces rather than a string per event: LuaJIT interns every string it
-- makes, so one table.concat per request costs the load generator far less
-- than one per event and another per body.
function Generator:append(parts, n, ts)
  if not self.pool then
    self.pool = {}
    for i = 1, kPoolSize do self.pool[i] = random_fields(self.stores) end
  end
  self.count = self.count + 1
  local seq = string.format("%012x", self.count)
  local fields = self.pool[math.random(1, kPoolSize)]
  parts[n + 1] = self.open
  parts[n + 2] = seq
  parts[n + 3] = self.request_id
  parts[n + 4] = seq
  parts[n + 5] = fields.before_ts
  parts[n + 6] = ts
  parts[n + 7] = fields.after_ts
  return n + 7, seq
end

-- A request body of `count` events, NDJSON when more than one, and the
-- first event's id. The events of one request share its timestamp: a client
-- batches what it has at the moment it posts.
function Generator:body(count)
  local parts, ts = self.parts, self:timestamp()
  local n, first = self:append(parts, 0, ts)
  for _ = 2, count do
    parts[n + 1] = "\n"
    n = self:append(parts, n + 1, ts)
  end
  return self.id_prefix .. first, table.concat(parts, "", 1, n)
end

return M
