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

-- One event as compact JSON (contract order, event_type last) and its id.
function Generator:next()
  self.count = self.count + 1
  local id = self:uuid(0)
  local store = math.random(1, self.stores)
  local category = math.random(1, #categories)
  local discount = "0"
  if math.random() >= 0.3 then
    local tenths = math.random(0, 500)
    discount = string.format("%d.%d", math.floor(tenths / 10), tenths % 10)
  end
  local cents = math.random(50, 50000)
  local body = string.format(
    '{"id":"%s","request_id":"%s","store_id":%d,"store_fqdn":"store-%03d.millrace.local",' ..
    '"store_ip":"10.0.%d.%d","cust_id":%d,"category":"%s","sku":%d,"price":%d.%02d,"qty":%d,' ..
    '"discount":%s,"gift_wrap":%s,"variant":"%s","priority_shipping":%s,"ts":"%s",' ..
    '"contact_me":%s,"is_return":%s,"event_type":"%s"}',
    id, self:uuid(1), store, store, math.floor(store / 256) % 256, store % 256,
    math.random(1, 100000), categories[category], 100000 + (category - 1) * 45000 + math.random(0, 299) * 150,
    math.floor(cents / 100), cents % 100, math.random(1, 50), discount,
    tostring(math.random() < 0.25), variants[math.random(1, #variants)], tostring(math.random() < 0.3),
    self:timestamp(), math.random() < 0.5 and '"github.com/miztiik"' or "null",
    tostring(math.random() < 0.1), math.random() < 0.5 and "sale_event" or "inventory_event")
  return id, body
end

return M
