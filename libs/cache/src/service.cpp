#include "millrace/cache/service.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "millrace/cache/redis_store.hpp"
#include "millrace/kafka/readiness.hpp"
#include "millrace/pg/readiness.hpp"
#include "millrace/redis/client.hpp"
#include "millrace/runtime/health.hpp"
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

// Problem "redis" when the server at `url` does not answer PING within a
// second, on a connection of the probe's own.
runtime::Health::Probe redis_probe(const std::string& url) {
  redis::ClientOptions options;
  options.connect_timeout = options.command_timeout = std::chrono::milliseconds(1000);
  auto client = std::make_shared<redis::Client>(redis::parse_url(url), options);
  return [client, url]() -> std::optional<runtime::Problem> {
    try {
      const auto reply = client->command({"PING"});
      if (reply.is_error()) {
        return runtime::Problem{"redis", "Redis at " + url + " refuses PING: " + reply.describe(),
                                "check the server's log"};
      }
      return std::nullopt;
    } catch (const std::exception& e) {
      return runtime::Problem{"redis", "Redis at " + url + " does not answer: " + e.what(),
                              "check that Redis runs and MILLRACE_REDIS_URL"};
    }
  };
}

class CacheService final : public runtime::Service {
 public:
  CacheService(CacheConfig config, metrics::Registry& metrics)
      : config_(std::move(config)), probe_(metrics) {
    health_.poll("redis", redis_probe(config_.store.redis_url));
    health_.poll("postgresql", pg::database_probe(config_.pg, "millrace-cache-readiness"));
    health_.poll("kafka",
                 kafka::topic_probe(config_.kafka, config_.kafka.topic,
                                    "create it with `millrace create-topics`, or set " +
                                        config_.kafka.topic_env + " to the change feed's topic"));
  }
  ~CacheService() override { stop(); }

  void start() override;
  void stop() override;
  bool wait(std::chrono::milliseconds timeout) override {
    return invalidator_ && invalidator_->wait_failed(timeout);
  }
  void rethrow_failure() override {
    if (invalidator_) invalidator_->rethrow_failure();
  }
  std::vector<runtime::Problem> readiness() const override { return health_.problems(); }

 private:
  CacheConfig config_;
  detail::InvalidatorProbe probe_;
  runtime::Health health_{"cache"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<detail::RunningInvalidator> invalidator_;
  bool stopped_ = false;
};

void CacheService::start() {
  if (invalidator_) return;
  const auto& c = config_;
  // The readers' timeout is short so that a read falls back to PostgreSQL
  // fast; the invalidator waits longer, up to half its lease, because each
  // timeout costs it a rebuild (a busy Redis is not a lost one).
  redis::ClientOptions client;
  client.connect_timeout = client.command_timeout =
      std::chrono::milliseconds(std::max(c.store.timeout_ms, c.lease_ms / 2));
  store_ = make_redis_store(redis::Client(redis::parse_url(c.store.redis_url), client),
                            effective_prefix(c.store, c.pg.schema));
  auto rules = detail::system_rules(c.pg.schema, c.batch_size, c.retry);
  rules.owner = owner_name();
  rules.lease = std::chrono::milliseconds(c.lease_ms);
  rules.ttl = std::chrono::milliseconds(c.store.ttl_ms);
  rules.refresh = [this](detail::InvalidatorRules& r) {
    const auto& c = config_;
    const auto limits = c.reloaded_limits.value_or({c.batch_size, c.store.ttl_ms});
    r.batch = static_cast<std::size_t>(limits.batch_size);
    r.ttl = std::chrono::milliseconds(limits.ttl_ms);
  };
  runtime::log_info("cache", "invalidating " + effective_prefix(c.store, c.pg.schema) + " in " +
                                 c.store.redis_url + " from topic " + c.kafka.topic + " as " +
                                 rules.owner);
  invalidator_ =
      std::make_unique<detail::RunningInvalidator>(c.kafka, c.pg, *store_, probe_, rules);
  invalidator_->start();
  health_.start();
}

void CacheService::stop() {
  if (!invalidator_ || stopped_) return;
  stopped_ = true;
  health_.stop();
  invalidator_->stop();
  runtime::log_info("cache", "stopped");
}

}  // namespace

std::unique_ptr<runtime::Service> make_cache(CacheConfig config, metrics::Registry& metrics) {
  return std::make_unique<CacheService>(std::move(config), metrics);
}

}  // namespace millrace::cache
