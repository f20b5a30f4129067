#include "millrace/sink/worker.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <utility>

#include "dead_letters.hpp"
#include "handler.hpp"
#include "millrace/cache/lookup.hpp"
#include "store_partitions.hpp"

namespace millrace::sink {

using std::chrono::milliseconds;

// The service's handler is the one its unit tests drive (handler.hpp),
// sending its dead letters to Kafka.
class SinkWorker::Handler final : public detail::SinkHandler {
 public:
  Handler(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup,
          detail::StorePartitions& store)
      : SinkHandler(config, metrics, lookup, store,
                    std::make_unique<detail::DeadLetters>(config, metrics)) {}
};

namespace {

std::unique_ptr<cache::CatalogLookup> make_lookup(const SinkConfig& config,
                                                  metrics::Registry& metrics) {
  if (!config.enrich) return nullptr;
  cache::LookupConfig c;
  c.kafka = config.stream.kafka;
  c.kafka.topic = config.changes_topic;
  c.kafka.client_id = config.stream.kafka.client_id + "-catalog";
  c.pg = config.stream.pg;
  c.retry = config.stream.retry;
  return std::make_unique<cache::CatalogLookup>(c, metrics);
}

detail::StoreRules store_rules(const SinkConfig& config) {
  detail::StoreRules r;
  r.ahead = std::chrono::seconds(std::llround(config.store_ahead_days * 86'400));
  r.retention = std::chrono::seconds(std::llround(config.store_retention_days * 86'400));
  r.maintain_every = std::chrono::milliseconds(config.store_maintain_s * 1000);
  return r;
}

}  // namespace

SinkWorker::SinkWorker(SinkConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      lookup_(make_lookup(config_, metrics)),
      store_(std::make_unique<detail::StorePartitions>(config_.stream.pg, store_rules(config_),
                                                       metrics)),
      handler_(std::make_unique<Handler>(config_, metrics, lookup_.get(), *store_)),
      consumer_(std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_, "sink",
                                                                metrics)) {}

SinkWorker::~SinkWorker() {
  stop();
}

void SinkWorker::start() {
  if (lookup_) lookup_->start();
  store_->start();
  handler_->start();
  consumer_->start();
}

void SinkWorker::stop() {
  // Reverse order of start: the consumer commits and leaves, then the
  // dead-letter producer drains, the partition maintenance ends, and the
  // catalog stops following.
  consumer_->stop();
  handler_->flush_dead_letters();
  store_->stop();
  if (lookup_) lookup_->stop();
}

bool SinkWorker::wait(milliseconds timeout) {
  return consumer_->wait(timeout);
}
void SinkWorker::rethrow_failure() {
  consumer_->rethrow_failure();
}
stream::StreamStats SinkWorker::stats() const {
  return consumer_->stats();
}

}  // namespace millrace::sink
