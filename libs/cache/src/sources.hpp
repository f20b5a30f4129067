#pragma once

// The invalidator's ports over the real servers: the change topic through
// kafka::Consumer (assigned, no group offsets) and the catalog tables
// through libpqxx.

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/cache/config.hpp"
#include "millrace/kafka/consumer.hpp"
#include "ports.hpp"

namespace millrace::cache::detail {

class KafkaFeed final : public Feed {
 public:
  // Does no I/O until ends() is first called.
  explicit KafkaFeed(const kafka::KafkaClientOptions& kafka);
  std::vector<kafka::TopicPartition> ends() override;
  void start_at(const std::vector<kafka::TopicPartition>& positions) override;
  std::optional<FeedRecord> poll(std::chrono::milliseconds timeout) override;
  std::vector<kafka::TopicPartition> positions() override;
  void close();

 private:
  std::string topic_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::int32_t partitions_ = 0;
  std::vector<kafka::TopicPartition> started_;
};

// Caller contract: reconnects when its connection was lost; one thread.
class PgTruth final : public Truth {
 public:
  // `assets`: the assets are loaded too (InvalidatorRules::assets).
  PgTruth(const pg::PgOptions& pg, bool assets);
  XidSnapshot load(const RowSink& row) override;

 private:
  pg::PgOptions pg_;
  bool assets_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::cache::detail
