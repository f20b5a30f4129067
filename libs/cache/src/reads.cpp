#include "millrace/cache/reads.hpp"

#include "change.hpp"
#include "millrace/cache/redis_store.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "near_map.hpp"
#include "probe.hpp"

namespace millrace::cache {

CachedReads::CachedReads(std::unique_ptr<catalog::Reads> database, std::unique_ptr<Store> store,
                         ReadProbe& probe, ReadOptions options, NearCache* near)
    : database_(std::move(database)),
      store_(std::move(store)),
      probe_(probe),
      options_(options),
      near_(near) {}

template <typename Load>
std::optional<std::string> CachedReads::through(const std::string& key, ReadKind kind,
                                                Load&& load) {
  const auto now = std::chrono::steady_clock::now();
  if (now < skip_store_until_) {
    probe_.read(kind, ReadResult::kBypass);
    return load();
  }
  Lookup found;
  try {
    if (near_ != nullptr) {
      const detail::Ticket ticket = near_->ask(key);
      found = store_->lookup(key);
      near_->keep(ticket, found);
    } else {
      found = store_->lookup(key);
    }
  } catch (const core::InfraError& e) {
    if (e.failure_class() == core::FailureClass::kFatal) throw;
    probe_.store_error();
    probe_.read(kind, ReadResult::kBypass);
    runtime::log_warn("cache", std::string("Redis cannot be read (") + e.what() +
                                   "): reading PostgreSQL for the next " +
                                   std::to_string(options_.retry_after.count()) + " ms");
    skip_store_until_ = now + options_.retry_after;
    return load();
  }
  if (!found.generation) {
    probe_.read(kind, ReadResult::kBypass);
    return load();
  }
  if (found.entry) {
    probe_.read(kind, ReadResult::kHit);
    return std::move(found.entry->body);
  }
  probe_.read(kind, ReadResult::kMiss);
  auto body = load();
  try {
    if (store_->fill(*found.generation, key, Entry{std::string(kLoadedVersion), body},
                     options_.ttl)) {
      probe_.filled();
    }
  } catch (const core::InfraError& e) {
    if (e.failure_class() == core::FailureClass::kFatal) throw;
    probe_.store_error();
    skip_store_until_ = now + options_.retry_after;
  }
  return body;
}

std::optional<std::string> CachedReads::category(std::string_view name) {
  return through(detail::category_key(name), ReadKind::kCategory,
                 [&] { return database_->category(name); });
}

std::string CachedReads::categories() {
  auto body = through(std::string(detail::kCategoriesKey), ReadKind::kCategories,
                      [&]() -> std::optional<std::string> { return database_->categories(); });
  // The list always exists; an entry without a body would be a store that
  // is not ours: the database answers instead.
  return body ? std::move(*body) : database_->categories();
}

std::optional<std::string> CachedReads::product(std::int64_t sku) {
  return through(detail::product_key(std::to_string(sku)), ReadKind::kProduct,
                 [&] { return database_->product(sku); });
}

std::function<std::unique_ptr<catalog::Reads>(std::unique_ptr<catalog::Reads>)> reads_factory(
    const StoreOptions& store, const std::string& schema, ReadProbe& probe, NearCache* near) {
  const auto endpoint = redis::parse_url(store.redis_url);
  redis::ClientOptions client;
  client.connect_timeout = client.command_timeout = std::chrono::milliseconds(store.timeout_ms);
  ReadOptions options;
  options.ttl = std::chrono::milliseconds(store.ttl_ms);
  const std::string prefix = effective_prefix(store, schema);
  return [=, &probe](std::unique_ptr<catalog::Reads> database) -> std::unique_ptr<catalog::Reads> {
    return std::make_unique<CachedReads>(std::move(database),
                                         make_redis_store(redis::Client(endpoint, client), prefix),
                                         probe, options, near);
  };
}

}  // namespace millrace::cache
