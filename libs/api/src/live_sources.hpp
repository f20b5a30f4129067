#pragma once

// The live driver's ports over the real servers: the change feed's topic
// through kafka::Consumer (assigned, no group offsets, read_committed), and
// the views and health through the reader's PostgreSQL session.
//
// Caller contract: each object is used by the live driver's thread alone.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "live_driver.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kafka/options.hpp"
#include "pg_backend.hpp"
#include "views.hpp"

namespace millrace::api {

class KafkaChanges final : public ChangeSource {
 public:
  // Creates the consumer, so a configuration librdkafka refuses (a property
  // it does not know or support) fails the service's start (InfraError,
  // fatal) rather than every turn of the live stream. Does no I/O until the
  // first poll().
  explicit KafkaChanges(const kafka::KafkaClientOptions& kafka);
  std::vector<FeedChange> poll(std::chrono::milliseconds timeout) override;

 private:
  kafka::KafkaClientOptions options_;
  std::unique_ptr<kafka::Consumer> consumer_;
  bool assigned_ = false;
};

class PgLiveSource final : public LiveSource {
 public:
  // `kafka` reads the partitions' ends (lag) and the dead-letter topics'
  // sizes; `dead_letter_topics` are those shown.
  PgLiveSource(std::unique_ptr<Session> reader, const kafka::KafkaClientOptions& kafka,
               std::vector<std::string> dead_letter_topics,
               std::shared_ptr<const ServedViews> views);
  LiveViews views(const std::vector<std::uint32_t>& xids) override;
  std::string health(const std::string& feed_error) override;

 private:
  kafka::Consumer& kafka();
  // Whether every one of `xids` is visible to a snapshot taken now.
  bool visible(const std::vector<std::uint32_t>& xids);

  PgBackend backend_;
  kafka::KafkaClientOptions kafka_options_;
  std::unique_ptr<kafka::Consumer> kafka_;
  std::vector<std::string> dead_letter_topics_;
  std::shared_ptr<const ServedViews> views_;
};

}  // namespace millrace::api
