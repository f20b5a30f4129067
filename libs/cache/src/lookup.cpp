#include "millrace/cache/lookup.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "invalidator.hpp"
#include "memory_store.hpp"
#include "millrace/runtime/log.hpp"
#include "sources.hpp"

namespace millrace::cache {

struct CatalogLookup::State {
  LookupConfig config;
  detail::InvalidatorProbe probe;
  detail::MemoryStore store;
  std::unique_ptr<detail::KafkaFeed> feed;
  std::unique_ptr<detail::PgTruth> truth;
  std::unique_ptr<detail::Invalidator> follower;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false, started = false, stopped = false;
  std::exception_ptr failure;  // under mutex

  State(LookupConfig c, metrics::Registry& metrics) : config(std::move(c)), probe(metrics) {}
};

CatalogLookup::CatalogLookup(LookupConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

CatalogLookup::~CatalogLookup() {
  stop();
}

void CatalogLookup::start() {
  State& s = *state_;
  if (s.started) return;
  s.started = true;
  CacheConfig feed_config;
  feed_config.kafka = s.config.kafka;
  s.feed = std::make_unique<detail::KafkaFeed>(feed_config);
  s.truth = std::make_unique<detail::PgTruth>(s.config.pg);
  detail::InvalidatorRules rules;
  rules.schema = s.config.pg.schema;
  rules.owner = "this process";
  rules.batch = static_cast<std::size_t>(s.config.batch_size);
  rules.first_backoff = std::chrono::milliseconds(s.config.retry.first_ms);
  rules.max_backoff = std::chrono::milliseconds(s.config.retry.max_ms);
  rules.now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  rules.steady = [] { return std::chrono::steady_clock::now(); };
  s.follower = std::make_unique<detail::Invalidator>(rules, *s.feed, *s.truth, s.store, s.probe);
  s.thread = std::thread([&s] {
    for (;;) {
      std::chrono::milliseconds pause{0};
      try {
        pause = s.follower->step();
      } catch (const std::exception& e) {
        runtime::log_error("cache", std::string("the catalog lookup stops: ") + e.what());
        std::lock_guard lock(s.mutex);
        s.failure = std::current_exception();
        return;
      }
      std::unique_lock lock(s.mutex);
      if (s.cv.wait_for(lock, pause, [&] { return s.stopping; })) return;
    }
  });
}

void CatalogLookup::stop() {
  State& s = *state_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
  }
  s.cv.notify_all();
  if (s.thread.joinable()) s.thread.join();
  s.follower->stop();
  try {
    s.feed->close();
  } catch (const std::exception& e) {
    runtime::log_warn("cache", std::string("closing the catalog lookup's consumer: ") + e.what());
  }
}

bool CatalogLookup::ready() const {
  return state_->store.ready();
}

bool CatalogLookup::wait_ready(std::chrono::milliseconds timeout) const {
  return state_->store.wait_ready(timeout);
}

std::optional<ProductFacts> CatalogLookup::product(std::int64_t sku) const {
  return state_->store.product(sku);
}

void CatalogLookup::rethrow_failure() const {
  std::lock_guard lock(state_->mutex);
  if (state_->failure) std::rethrow_exception(state_->failure);
}

std::int64_t CatalogLookup::generation() const {
  return state_->store.live_generation();
}

}  // namespace millrace::cache
