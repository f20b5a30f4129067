#include "millrace/cache/lookup.hpp"

#include "memory_store.hpp"
#include "running.hpp"

namespace millrace::cache {

struct CatalogLookup::State {
  LookupConfig config;
  detail::InvalidatorProbe probe;
  detail::MemoryStore store;
  std::unique_ptr<detail::RunningInvalidator> follower;

  State(LookupConfig c, metrics::Registry& metrics) : config(std::move(c)), probe(metrics) {}
};

LookupConfig follow_config(const kafka::KafkaClientOptions& kafka, const std::string& changes_topic,
                           const pg::PgOptions& pg, const core::RetryBackoff& retry) {
  LookupConfig c;
  c.kafka = kafka;
  c.kafka.topic = changes_topic;
  c.kafka.client_id = kafka.client_id + "-catalog";
  c.pg = pg;
  c.retry = retry;
  return c;
}

CatalogLookup::CatalogLookup(LookupConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

CatalogLookup::~CatalogLookup() {
  stop();
}

void CatalogLookup::start() {
  State& s = *state_;
  if (s.follower) return;
  auto rules = detail::system_rules(s.config.pg.schema, s.config.batch_size, s.config.retry);
  rules.owner = "this process";
  rules.what = "the catalog in memory";
  rules.fallback = "batches wait";
  rules.assets = s.config.assets;
  s.follower = std::make_unique<detail::RunningInvalidator>(s.config.kafka, s.config.pg, s.store,
                                                            s.probe, rules);
  s.follower->start();
}

void CatalogLookup::stop() {
  if (state_->follower) state_->follower->stop();
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

std::optional<AssetFacts> CatalogLookup::asset(std::string_view symbol) const {
  return state_->store.asset(symbol);
}

void CatalogLookup::rethrow_failure() const {
  if (state_->follower) state_->follower->rethrow_failure();
}

std::int64_t CatalogLookup::generation() const {
  return state_->store.live_generation();
}

}  // namespace millrace::cache
