#include "millrace/cache/service.hpp"

#include <unistd.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "invalidator.hpp"
#include "millrace/cache/redis_store.hpp"
#include "millrace/runtime/log.hpp"
#include "sources.hpp"

namespace millrace::cache {

namespace {

std::string owner_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::random_device random;
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(random());
}

}  // namespace

struct CacheService::State {
  CacheConfig config;
  detail::InvalidatorProbe probe;
  std::unique_ptr<detail::KafkaFeed> feed;
  std::unique_ptr<detail::PgTruth> truth;
  std::unique_ptr<Store> store;
  std::unique_ptr<detail::Invalidator> invalidator;
  std::thread thread;

  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  bool started = false;
  bool stopped = false;
  std::exception_ptr failure;

  State(CacheConfig c, metrics::Registry& metrics) : config(std::move(c)), probe(metrics) {}

  void run() {
    for (;;) {
      std::chrono::milliseconds pause{0};
      try {
        pause = invalidator->step();
      } catch (const std::exception& e) {
        runtime::log_error("cache", std::string("stopping: ") + e.what());
        std::lock_guard lock(mutex);
        failure = std::current_exception();
        cv.notify_all();
        return;
      }
      std::unique_lock lock(mutex);
      if (cv.wait_for(lock, pause, [&] { return stopping; })) return;
    }
  }
};

CacheService::CacheService(CacheConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

CacheService::~CacheService() {
  stop();
}

void CacheService::start() {
  State& s = *state_;
  if (s.started) return;
  s.started = true;
  const auto& c = s.config;
  s.feed = std::make_unique<detail::KafkaFeed>(c);
  s.truth = std::make_unique<detail::PgTruth>(c.pg);
  redis::ClientOptions client;
  client.connect_timeout = client.command_timeout = std::chrono::milliseconds(c.store.timeout_ms);
  s.store = make_redis_store(redis::Client(redis::parse_url(c.store.redis_url), client),
                             effective_prefix(c.store, c.pg.schema));
  detail::InvalidatorRules rules;
  rules.schema = c.pg.schema;
  rules.owner = owner_name();
  rules.lease = std::chrono::milliseconds(c.lease_ms);
  rules.ttl = std::chrono::milliseconds(c.store.ttl_ms);
  rules.batch = static_cast<std::size_t>(c.batch_size);
  rules.first_backoff = std::chrono::milliseconds(c.retry.first_ms);
  rules.max_backoff = std::chrono::milliseconds(c.retry.max_ms);
  rules.now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  rules.steady = [] { return std::chrono::steady_clock::now(); };
  runtime::log_info("cache", "invalidating " + effective_prefix(c.store, c.pg.schema) + " in " +
                                 c.store.redis_url + " from topic " + c.kafka.topic + " as " +
                                 rules.owner);
  s.invalidator =
      std::make_unique<detail::Invalidator>(rules, *s.feed, *s.truth, *s.store, s.probe);
  s.thread = std::thread([&s] { s.run(); });
}

void CacheService::stop() {
  State& s = *state_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
  }
  s.cv.notify_all();
  if (s.thread.joinable()) s.thread.join();
  s.invalidator->stop();
  try {
    s.feed->close();
  } catch (const std::exception& e) {
    runtime::log_warn("cache", std::string("closing the consumer: ") + e.what());
  }
  runtime::log_info("cache", "stopped");
}

bool CacheService::wait(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  return s.cv.wait_for(lock, timeout, [&] { return s.failure != nullptr; });
}

void CacheService::rethrow_failure() {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (s.failure) std::rethrow_exception(s.failure);
}

}  // namespace millrace::cache
