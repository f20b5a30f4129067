// The near cache: its memory (near_map.cpp) and the connection that tells
// it of Redis' changes.
#include "millrace/cache/near.hpp"

#include <atomic>
#include <utility>

#include "change.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "near_map.hpp"

namespace millrace::cache {

namespace detail {

NearKey near_key(std::string_view prefix, std::string_view full_key) {
  if (full_key.size() <= prefix.size() + 1 || full_key.substr(0, prefix.size()) != prefix ||
      full_key[prefix.size()] != ':') {
    return {};
  }
  const std::string_view rest = full_key.substr(prefix.size() + 1);
  if (rest == "live") return {NearKey::Kind::kLive, {}};
  // g<generation>:<entry key>
  if (rest.size() < 3 || rest[0] != 'g') return {};
  std::size_t i = 1;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
  if (i == 1 || i >= rest.size() || rest[i] != ':') return {};
  return {NearKey::Kind::kEntry, rest.substr(i + 1)};
}

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kChannel = "__redis__:invalidate";

}  // namespace

struct NearCache::State {
  redis::Endpoint endpoint;
  redis::ClientOptions client;
  std::string prefix;
  ReadProbe& probe;
  NearOptions options;
  detail::NearMap map;

  std::atomic<bool> listening{false};
  bool started = false;
  bool lost_before = false;  // a loss was logged since the last listening
  // Last, so it stops before what its thread reads goes away.
  runtime::Worker worker{{.component = "cache", .on_exit = [this] { set_listening(false); }}};

  State(redis::Endpoint e, redis::ClientOptions c, std::string p, ReadProbe& pr, NearOptions o)
      : endpoint(std::move(e)),
        client(c),
        prefix(std::move(p)),
        probe(pr),
        options(o),
        map(o.max_entries) {}

  void set_listening(bool on) {
    map.listening(on);
    listening.store(on);
    probe.near_listening(on);
  }

  // One message of the tracking channel: the keys that changed, or nil for
  // all of them (a flush).
  void apply(const redis::Reply& message) {
    if (message.type() != redis::Reply::Type::kArray) return;  // a PING's answer is one too
    const auto& parts = message.elements();
    if (parts.size() != 3 || parts[0].type() != redis::Reply::Type::kString ||
        parts[0].as_string() != "message") {
      return;  // "pong", and the subscription's confirmation
    }
    const redis::Reply& keys = parts[2];
    if (keys.is_nil()) return map.changed_all();
    const auto one = [&](const std::string& full) {
      const auto key = detail::near_key(prefix, full);
      if (key.kind == detail::NearKey::Kind::kEntry) map.changed(key.entry);
      if (key.kind == detail::NearKey::Kind::kLive) map.live_changed();
    };
    if (keys.type() == redis::Reply::Type::kString) return one(keys.as_string());
    if (keys.type() != redis::Reply::Type::kArray) return map.changed_all();
    for (const auto& k : keys.elements()) {
      if (k.type() == redis::Reply::Type::kString) {
        one(k.as_string());
      } else {
        map.changed_all();
      }
    }
  }

  // Listens until stopped or the connection is lost (throws).
  void listen(redis::Client& c) {
    const std::string id = std::to_string(c.command({"CLIENT", "ID"}).as_integer());
    const std::string watched = prefix + ":";
    const redis::Reply tracking =
        c.command({"CLIENT", "TRACKING", "on", "REDIRECT", id, "BCAST", "PREFIX", watched});
    if (tracking.is_error()) {
      throw core::InfraError(
          core::FailureClass::kFatal,
          "CLIENT TRACKING refused (Redis 6 or later has it): " + tracking.as_string());
    }
    const redis::Reply subscribed = c.command({"SUBSCRIBE", kChannel});
    if (subscribed.type() != redis::Reply::Type::kArray) {
      throw core::InfraError(core::FailureClass::kFatal,
                             "SUBSCRIBE " + std::string(kChannel) + ": " + subscribed.describe());
    }
    // From here every change under the prefix reaches this connection.
    set_listening(true);
    runtime::log_info("cache", "near cache: listening for changes under " + watched +
                                   " (CLIENT TRACKING, broadcast)");
    const auto ping_every = options.ping_every;
    auto heard = Clock::now();
    auto next_ping = heard + ping_every;
    while (!worker.stopping()) {
      const auto now = Clock::now();
      if (now >= next_ping) {
        c.send({"PING"});
        next_ping = now + ping_every;
      }
      if (now - heard > 3 * ping_every) {
        throw core::InfraError(
            core::FailureClass::kRetryable,
            "no answer to PING for " + std::to_string(3 * ping_every.count()) + " ms");
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - now);
      if (auto message = c.receive(std::max(wait, std::chrono::milliseconds(1)))) {
        heard = Clock::now();
        apply(*message);
      }
    }
  }

  // One connection, listened to until stopped or lost; what is lost is
  // logged once until it listens again, and tried again after retry_after.
  // Refused tracking turns the near cache off, not the service.
  runtime::Worker::Next round() {
    try {
      redis::Client c(endpoint, client);
      listen(c);
    } catch (const core::InfraError& e) {
      const bool was = listening.load();
      set_listening(false);
      if (was) probe.near_lost();
      if (e.failure_class() == core::FailureClass::kFatal) {
        runtime::log_warn("cache",
                          std::string("near cache off: ") + e.what() + "; every read asks Redis");
        return runtime::Worker::Next::done();
      }
      if (was || !lost_before) {
        runtime::log_warn("cache", std::string("near cache: not listening (") + e.what() +
                                       "): every read asks Redis until it listens again");
      }
      lost_before = true;
    }
    return runtime::Worker::Next::after(options.retry_after);
  }
};

NearCache::NearCache(redis::Endpoint endpoint, redis::ClientOptions client, std::string prefix,
                     ReadProbe& probe, NearOptions options)
    : state_(std::make_unique<State>(std::move(endpoint), client, std::move(prefix), probe,
                                     options)) {}

NearCache::~NearCache() {
  stop();
}

void NearCache::start() {
  State& s = *state_;
  if (s.started || s.options.max_entries == 0) return;
  s.started = true;
  s.worker.spawn([&s] { return s.round(); });
}

void NearCache::stop() {
  state_->worker.stop();
}

namespace {

std::optional<catalog::HeldBody> counted(ReadProbe& probe, ReadKind kind,
                                         std::optional<catalog::HeldBody> held) {
  if (held) probe.read(kind, ReadResult::kHeld);
  return held;
}

}  // namespace

std::optional<catalog::HeldBody> NearCache::category(std::string_view name) const {
  return counted(state_->probe, ReadKind::kCategory,
                 state_->map.get(detail::category_key(name), Clock::now()));
}

std::optional<std::string> NearCache::categories() const {
  auto held = state_->map.get(detail::kCategoriesKey, Clock::now());
  if (!held || !held->body) return std::nullopt;
  state_->probe.read(ReadKind::kCategories, ReadResult::kHeld);
  return std::move(held->body);
}

std::optional<catalog::HeldBody> NearCache::product(std::int64_t sku) const {
  return counted(state_->probe, ReadKind::kProduct,
                 state_->map.get(detail::product_key(std::to_string(sku)), Clock::now()));
}

detail::Ticket NearCache::ask(std::string_view key) {
  return state_->map.ask(key, Clock::now());
}

void NearCache::keep(const detail::Ticket& ticket, const Lookup& found) {
  state_->map.keep(ticket, found);
}

std::unique_ptr<NearCache> make_near_cache(const StoreOptions& store, const std::string& schema,
                                           ReadProbe& probe, std::size_t max_entries) {
  redis::ClientOptions client;
  client.connect_timeout = client.command_timeout = std::chrono::milliseconds(store.timeout_ms);
  NearOptions options;
  options.max_entries = max_entries;
  return std::make_unique<NearCache>(redis::parse_url(store.redis_url), client,
                                     effective_prefix(store, schema), probe, options);
}

}  // namespace millrace::cache
