#include "kafka_publisher.hpp"

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;
using std::chrono::seconds;

namespace {

kafka::TransactionalConfig producer_config(const ChangefeedConfig& c) {
  kafka::TransactionalConfig t;
  t.brokers = c.kafka.brokers;
  t.client_id = c.kafka.client_id;
  t.transactional_id = c.transactional_id;
  t.extra = c.kafka.extra;
  return t;
}

}  // namespace

KafkaPublisher::KafkaPublisher(const ChangefeedConfig& config)
    : config_(config), producer_(producer_config(config), seconds(60)) {}

Checkpoint KafkaPublisher::read_checkpoint() {
  const auto committed =
      kafka::committed_offset(config_.kafka.brokers, config_.kafka.extra, config_.checkpoint_group,
                              config_.kafka.topic, 0, seconds(30));
  if (!committed) return {};
  const auto checkpoint = parse_checkpoint(committed->metadata);
  if (!checkpoint) {
    throw InfraError(FailureClass::kFatal, "checkpoint group " + config_.checkpoint_group +
                                               " holds metadata that is not a checkpoint: \"" +
                                               committed->metadata + "\"");
  }
  return *checkpoint;
}

void KafkaPublisher::publish(const std::vector<Transaction>& batch, const Checkpoint& through) {
  producer_.begin();
  try {
    for (const auto& tx : batch) {
      for (const auto& change : tx.changes) {
        const std::string id = change_id(change.source);
        const kafka::OutHeader headers[] = {{kChangeIdHeader, id}};
        producer_.produce(config_.kafka.topic, kafka_key(change), to_json(change, id), headers);
      }
    }
    // The offset itself only has to grow; the metadata is the checkpoint.
    producer_.commit_offset(config_.checkpoint_group, config_.kafka.topic, 0,
                            static_cast<std::int64_t>(through.commit_lsn & 0x7FFFFFFFFFFFFFFFULL),
                            encode_checkpoint(through), seconds(30));
  } catch (const InfraError& e) {
    if (e.failure_class() == FailureClass::kRetryable) {
      try {
        producer_.abort(seconds(30));
      } catch (const InfraError&) {
        // The abort failing too leaves the transaction to the broker's
        // transaction timeout, or to the next instance's init, which aborts it.
      }
    }
    throw;
  }
  producer_.commit(seconds(60));
}

}  // namespace millrace::changefeed
