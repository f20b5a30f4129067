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

class KafkaPublisher final : public PublishPort {
 public:
  // Creates the transactional producer, which fences any older instance
  // with the same transactional.id and aborts what it left open.
  explicit KafkaPublisher(const ChangefeedConfig& config);

  // The last checkpoint published; {0, 0} before the first.
  Checkpoint read_checkpoint();

  void publish(const std::vector<Transaction>& batch, const Checkpoint& through) override;

 private:
  const ChangefeedConfig& config_;
  kafka::TransactionalProducer producer_;
};

}  // namespace millrace::changefeed
