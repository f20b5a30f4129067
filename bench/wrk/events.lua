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
  return setmetatable({ nonce = nonce, stream = stream % 0x10000, stores = stores or 50, count = 0,
    second = -1, date = "" }, Generator)
end

-- UUID text: run nonce, stream, which id of the event, sequence number.
function Generator:uuid(which)
  return string.format("%08x-%04x-4000-8%03x-%012x", self.nonce, self.stream, which, self.count)
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

-- The fields that do not identify an event, drawn at random like
-- `millrace generate`'s: "store_id" .. "is_return" without "ts", and
-- "event_type". A pool of them, drawn once per generator: formatting a
-- dozen random fields per event cost the load generator more CPU than the
-- service spent parsing them (wrk's two threads used 59 % of a core at
-- 97,000 NDJSON events/s).
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
  return { head = head, tail = tail }
end

-- One event as compact JSON (contract order, event_type last) and its id:
-- fresh ids and timestamp, the other fields from the pool.
function Generator:next()
  self.count = self.count + 1
  if not self.pool then
    self.pool = {}
    for i = 1, kPoolSize do self.pool[i] = random_fields(self.stores) end
  end
  local id = self:uuid(0)
  local fields = self.pool[math.random(1, kPoolSize)]
  return id, table.concat({ '{"id":"', id, '","request_id":"', self:uuid(1), '",', fields.head,
    '"ts":"', self:timestamp(), '",', fields.tail })
end

return M
