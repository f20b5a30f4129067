#include "millrace/cache/redis_store.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "millrace/core/failure.hpp"

namespace millrace::cache {

namespace {

using redis::Reply;
using redis::Script;

// KEYS[1] live; ARGV[1] "<prefix>:g", ARGV[2] the key.
// -> nil when nothing is live, else {generation, version|nil, body|nil,
// the live mark's remaining lease in ms}.
const Script kLookup(R"(
local g = redis.call('GET', KEYS[1])
if not g then return false end
local e = redis.call('HMGET', ARGV[1] .. g .. ':' .. ARGV[2], 'v', 'b')
return {g, e[1], e[2], redis.call('PTTL', KEYS[1])}
)");

// An entry written: its version, its body when it has one ('1'), and its
// lifetime in ms. Both scripts that write one begin with it.
constexpr std::string_view kWriteEntry = R"(
local function write_entry(key, version, has_body, body, ttl)
  if has_body == '1' then
    redis.call('HSET', key, 'v', version, 'b', body)
  else
    redis.call('HSET', key, 'v', version)
  end
  redis.call('PEXPIRE', key, ttl)
  return 1
end
)";

// KEYS[1] live; ARGV generation, full key, version, has body, body, ttl ms.
const Script kFill(std::string(kWriteEntry) + R"(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', ARGV[2]) == 1 then return 0 end
return write_entry(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
)");

// KEYS[1] the full key; ARGV version, has body, body, ttl ms. Versions are
// equal-length hex (or "0"), so string order is their order.
const Script kPut(std::string(kWriteEntry) + R"(
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and cur > ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return write_entry(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
)");

// KEYS[1] owner; ARGV me, lease ms.
const Script kAcquire(R"(
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)");

// KEYS[1] owner, KEYS[2] live; ARGV me, generation, lease ms. An owner
// lease that ran out with no one taking it is taken back (a slow round
// under load), as acquire would.
const Script kSetLive(R"(
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
)");

// KEYS[1] the key; ARGV the value it must hold to be deleted.
const Script kDeleteIf(R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)");

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

class RedisStore final : public Store {
 public:
  RedisStore(redis::Client client, std::string prefix)
      : client_(std::move(client)),
        live_(prefix + ":live"),
        owner_(prefix + ":owner"),
        counter_(prefix + ":gen"),
        entries_(prefix + ":g") {}

  Lookup lookup(std::string_view key) override {
    const Reply r = client_.eval(kLookup, {live_}, {entries_, std::string(key)});
    Lookup out;
    if (r.is_nil()) return out;
    const auto& e = r.elements();
    out.generation = std::stoll(e.at(0).as_string());
    if (!e.at(1).is_nil()) {
      Entry entry;
      entry.version = e[1].as_string();
      if (!e.at(2).is_nil()) entry.body = e[2].as_string();
      out.entry = std::move(entry);
    }
    // PTTL: -1 for a mark without expiry (not one the invalidator set).
    out.live_for = std::chrono::milliseconds(std::max<std::int64_t>(e.at(3).as_integer(), 0));
    return out;
  }

  bool fill(std::int64_t generation, std::string_view key, const Entry& entry,
            std::chrono::milliseconds ttl) override {
    const Reply r = client_.eval(kFill, {live_},
                                 {std::to_string(generation), full(generation, key), entry.version,
                                  entry.body ? "1" : "0", entry.body.value_or(""), ms(ttl)});
    return r.as_integer() == 1;
  }

  bool acquire(std::string_view owner, std::chrono::milliseconds lease) override {
    return client_.eval(kAcquire, {owner_}, {std::string(owner), ms(lease)}).as_integer() == 1;
  }

  std::int64_t new_generation() override {
    const Reply r = client_.command({"INCR", counter_});
    if (r.is_error())
      throw core::InfraError(redis::classify_error_reply(r.as_string()),
                             "redis INCR: " + r.as_string());
    return r.as_integer();
  }

  std::size_t put(std::int64_t generation,
                  const std::vector<std::pair<std::string, Entry>>& entries,
                  std::chrono::milliseconds ttl) override {
    if (entries.empty()) return 0;
    // One round trip: the scripts by EVALSHA in a pipeline, after one EVAL
    // that makes sure the server has the script (it may have restarted).
    std::vector<std::vector<std::string>> commands;
    commands.reserve(entries.size());
    const std::string ttl_ms = ms(ttl);
    for (const auto& [key, e] : entries) {
      commands.push_back({"EVALSHA", kPut.sha1(), "1", full(generation, key), e.version,
                          e.body ? "1" : "0", e.body.value_or(""), ttl_ms});
    }
    std::size_t written = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto replies = client_.pipeline(commands);
      bool noscript = false;
      written = 0;
      for (const auto& r : replies) {
        if (r.is_error()) {
          if (r.as_string().starts_with("NOSCRIPT")) {
            noscript = true;
            continue;
          }
          throw core::InfraError(redis::classify_error_reply(r.as_string()),
                                 "redis cache put: " + r.as_string());
        }
        written += r.as_integer() == 1 ? 1 : 0;
      }
      if (!noscript) return written;
      // The server lost its scripts: load it and run the batch again (each
      // put is guarded by its version, so running one twice changes nothing).
      client_.command({"SCRIPT", "LOAD", kPut.text()});
    }
    throw core::InfraError(core::FailureClass::kRetryable,
                           "redis cache put: the script vanished twice in a row");
  }

  bool set_live(std::string_view owner, std::int64_t generation,
                std::chrono::milliseconds lease) override {
    return client_
               .eval(kSetLive, {owner_, live_},
                     {std::string(owner), std::to_string(generation), ms(lease)})
               .as_integer() == 1;
  }

  void withdraw(std::int64_t generation) override {
    client_.eval(kDeleteIf, {live_}, {std::to_string(generation)});
  }

  void release(std::string_view owner) override {
    client_.eval(kDeleteIf, {owner_}, {std::string(owner)});
  }

 private:
  std::string full(std::int64_t generation, std::string_view key) const {
    return entries_ + std::to_string(generation) + ":" + std::string(key);
  }

  redis::Client client_;
  std::string live_, owner_, counter_, entries_;
};

}  // namespace

std::unique_ptr<Store> make_redis_store(redis::Client client, std::string prefix) {
  return std::make_unique<RedisStore>(std::move(client), std::move(prefix));
}

}  // namespace millrace::cache
