#include "millrace/cache/service.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "millrace/cache/redis_store.hpp"
#include "millrace/runtime/log.hpp"
#include "running.hpp"

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
  std::unique_ptr<Store> store;
  std::unique_ptr<detail::RunningInvalidator> invalidator;
  bool stopped = false;

  State(CacheConfig c, metrics::Registry& metrics) : config(std::move(c)), probe(metrics) {}
};

CacheService::CacheService(CacheConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

CacheService::~CacheService() {
  stop();
}

void CacheService::start() {
  State& s = *state_;
  if (s.invalidator) return;
  const auto& c = s.config;
  // The readers' timeout is short so that a read falls back to PostgreSQL
  // fast; the invalidator waits longer, up to half its lease, because each
  // timeout costs it a rebuild (a busy Redis is not a lost one).
  redis::ClientOptions client;
  client.connect_timeout = client.command_timeout =
      std::chrono::milliseconds(std::max(c.store.timeout_ms, c.lease_ms / 2));
  s.store = make_redis_store(redis::Client(redis::parse_url(c.store.redis_url), client),
                             effective_prefix(c.store, c.pg.schema));
  auto rules = detail::system_rules(c.pg.schema, c.batch_size, c.retry);
  rules.owner = owner_name();
  rules.lease = std::chrono::milliseconds(c.lease_ms);
  rules.ttl = std::chrono::milliseconds(c.store.ttl_ms);
  runtime::log_info("cache", "invalidating " + effective_prefix(c.store, c.pg.schema) + " in " +
                                 c.store.redis_url + " from topic " + c.kafka.topic + " as " +
                                 rules.owner);
  s.invalidator =
      std::make_unique<detail::RunningInvalidator>(c.kafka, c.pg, *s.store, s.probe, rules);
  s.invalidator->start();
}

void CacheService::stop() {
  State& s = *state_;
  if (!s.invalidator || s.stopped) return;
  s.stopped = true;
  s.invalidator->stop();
  runtime::log_info("cache", "stopped");
}

bool CacheService::wait(std::chrono::milliseconds timeout) {
  return state_->invalidator && state_->invalidator->wait_failed(timeout);
}

void CacheService::rethrow_failure() {
  if (state_->invalidator) state_->invalidator->rethrow_failure();
}

}  // namespace millrace::cache
