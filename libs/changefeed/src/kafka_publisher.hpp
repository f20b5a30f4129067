#pragma once

// The Kafka side of the change feed: each batch of transactions in one
// Kafka transaction, with the checkpoint committed inside it as the
// checkpoint group's offset metadata (Kafka's own transactional offset
// store), so changes and checkpoint become visible together or not at all.

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "millrace/changefeed/feed.hpp"
#include "millrace/changefeed/outbox.hpp"
#include "millrace/changefeed/record_format.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/kafka/transactional.hpp"

namespace millrace::changefeed {

// The last checkpoint published; nullopt before the first. Read as a
// read_committed client: only what a committed transaction wrote. Throws
// runtime::Stopped soon after `stopping` returns true.
std::optional<Checkpoint> read_checkpoint(const ChangefeedConfig& config,
                                          const std::function<bool()>& stopping);

class PgTableFacts;

class KafkaPublisher final : public PublishPort {
 public:
  // Creates the transactional producer, which fences any older instance
  // with the same transactional.id and aborts what it left open. The broker
  // aborts a transaction of this producer left open longer than
  // `transaction_timeout_ms`. The records are in config.format; the outbox
  // format counts what it does in `outbox_counts`, which must then be given
  // and outlive the publisher. Once `stopping` returns true, waits on the
  // brokers end soon, throwing runtime::Stopped
  // (kafka::TransactionalConfig::stopping).
  KafkaPublisher(const ChangefeedConfig& config, std::int32_t transaction_timeout_ms,
                 std::function<bool()> stopping, outbox::Counts* outbox_counts = nullptr);
  ~KafkaPublisher() override;

  void publish(const std::vector<Transaction>& batch, const Checkpoint& through) override;

 private:
  void begin();
  void add(const Change& change);
  // Produces records_ into the open transaction.
  void produce_records();
  // Creates a topic the format names that does not exist yet, with the
  // feed's topic's partition count (or --outbox-partitions').
  void ensure_topic(const std::string& topic);
  // Drops what was added (after a failure; never throws).
  void abort() noexcept;
  // Sends `through` into the open transaction as the checkpoint group's
  // offset metadata.
  void checkpoint(const Checkpoint& through);

  const ChangefeedConfig& config_;
  kafka::TransactionalProducer producer_;
  std::unique_ptr<PgTableFacts> table_facts_;  // the Debezium format's
  std::unique_ptr<RecordFormat> format_;
  std::vector<OutRecord> records_;         // one change's, reused
  std::vector<kafka::OutHeader> headers_;  // one record's, reused
  std::set<std::string> topics_;           // known to exist
};

}  // namespace millrace::changefeed
