#pragma once

// The Kafka side of the change feed: each batch of transactions in one
// Kafka transaction, with the checkpoint committed inside it as the
// checkpoint group's offset metadata (Kafka's own transactional offset
// store), so changes and checkpoint become visible together or not at all.

#include <chrono>
#include <string>

#include "millrace/changefeed/feed.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/kafka/transactional.hpp"

namespace millrace::changefeed {

// The header every published record carries with its change id.
inline constexpr std::string_view kChangeIdHeader = "millrace.change_id";

// The last checkpoint published; nullopt before the first. Read as a
// read_committed client: only what a committed transaction wrote.
std::optional<Checkpoint> read_checkpoint(const ChangefeedConfig& config);

class KafkaPublisher final : public PublishPort {
 public:
  // Creates the transactional producer, which fences any older instance
  // with the same transactional.id and aborts what it left open. The broker
  // aborts a transaction of this producer left open longer than
  // `transaction_timeout_ms`.
  KafkaPublisher(const ChangefeedConfig& config, std::int32_t transaction_timeout_ms);

  void publish(const std::vector<Transaction>& batch, const Checkpoint& through) override;

 private:
  void begin();
  void add(const Change& change);
  // Drops what was added (after a failure; never throws).
  void abort() noexcept;
  // Sends `through` into the open transaction as the checkpoint group's
  // offset metadata.
  void checkpoint(const Checkpoint& through);

  const ChangefeedConfig& config_;
  kafka::TransactionalProducer producer_;
};

}  // namespace millrace::changefeed
