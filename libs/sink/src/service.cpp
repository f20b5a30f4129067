#include "millrace/sink/service.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <utility>

#include "dead_letters.hpp"
#include "handler.hpp"
#include "millrace/cache/lookup.hpp"
#include "store_partitions.hpp"

namespace millrace::sink {

namespace {

std::unique_ptr<cache::CatalogLookup> make_lookup(const SinkConfig& config,
                                                  metrics::Registry& metrics) {
  if (!config.enrich) return nullptr;
  auto c = cache::follow_config(config.stream.kafka, config.changes_topic, config.stream.pg,
                                config.stream.retry);
  c.assets = config.kinds.declaration && config.kinds.declaration->enrich_asset;
  return std::make_unique<cache::CatalogLookup>(c, metrics);
}

// store_events', or with --kind the kind's tables, with its retention
// (--<kind>-retention, else its declaration's).
detail::StoreRules store_rules(const SinkConfig& config) {
  detail::StoreRules r;
  r.ahead = std::chrono::seconds(std::llround(config.store_ahead_days * 86'400));
  r.retention = std::chrono::seconds(std::llround(config.store_retention_days * 86'400));
  r.maintain_every = std::chrono::milliseconds(config.store_maintain_s * 1000);
  if (config.kinds.declaration) {
    r.table = config.kinds.declaration->table;
    const auto keep = kinds::retention(config.kinds);
    r.retention =
        keep ? std::chrono::duration_cast<std::chrono::seconds>(*keep) : std::chrono::seconds(0);
  }
  return r;
}

// The handler the unit tests drive (handler.hpp) on `Sink`'s codec, sending
// its dead letters to Kafka.
template <typename Sink>
void consume(stream::ConsumerService& service, const SinkConfig& config, metrics::Registry& metrics,
             cache::CatalogLookup* lookup, detail::StorePartitions& partitions) {
  auto& handler = service.add(std::make_unique<detail::RecordHandler<Sink>>(
      config, lookup, partitions, std::make_unique<detail::DeadLetters>(config, metrics), metrics,
      lookup));
  service.consume(config.stream, handler);
}

}  // namespace

std::unique_ptr<stream::ConsumerService> make_sink(SinkConfig sink_config,
                                                   metrics::Registry& metrics) {
  auto service = std::make_unique<stream::ConsumerService>("sink", metrics);
  const auto& config = service->keep(std::move(sink_config));
  // Started in this order, stopped in reverse after the consumer commits and
  // leaves: the dead-letter producer drains, the partition maintenance ends,
  // and the catalog stops following.
  cache::CatalogLookup* lookup = nullptr;
  if (auto made = make_lookup(config, metrics)) lookup = &service->add(std::move(made));
  auto& partitions = service->add(
      std::make_unique<detail::StorePartitions>(config.stream.pg, store_rules(config), metrics));
  consume<detail::DeclaredSink>(*service, config, metrics, lookup, partitions);
  return service;
}

}  // namespace millrace::sink
