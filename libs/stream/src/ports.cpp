#include "ports.hpp"

#include "batch_committer.hpp"
#include "production_ports.hpp"

namespace millrace::stream::detail {

namespace {

class KafkaConsumerPort final : public ConsumerPort {
 public:
  KafkaConsumerPort(const kafka::ConsumerConfig& config, kafka::RebalanceListener* listener)
      : consumer_(config, listener) {}
  void subscribe(const std::vector<std::string>& topics) override { consumer_.subscribe(topics); }
  std::optional<kafka::Message> poll(std::chrono::milliseconds timeout) override {
    return consumer_.poll(timeout);
  }
  void wake() override { consumer_.wake(); }
  void pause(const std::vector<kafka::TopicPartition>& partitions) override {
    consumer_.pause(partitions);
  }
  void resume(const std::vector<kafka::TopicPartition>& partitions) override {
    consumer_.resume(partitions);
  }
  bool assign(const std::vector<kafka::TopicPartition>& partitions) override {
    return consumer_.assign(partitions);
  }
  void commit_async(const std::vector<kafka::TopicPartition>& partitions) override {
    consumer_.commit_async(partitions);
  }
  std::pair<std::int64_t, std::int64_t> watermarks(const std::string& topic, std::int32_t partition,
                                                   std::chrono::milliseconds timeout) override {
    return consumer_.watermarks(topic, partition, timeout);
  }
  std::vector<kafka::TopicPartition> positions(
      const std::vector<kafka::TopicPartition>& partitions) override {
    return consumer_.positions(partitions);
  }
  void close() override { consumer_.close(); }

 private:
  kafka::Consumer consumer_;
};

}  // namespace

Ports production_ports(const StreamConfig& config, Handler& handler, const std::string& component) {
  Ports ports;
  kafka::ConsumerConfig cc;
  cc.brokers = config.kafka.brokers;
  cc.group_id = config.group;
  cc.client_id = config.kafka.client_id;
  cc.session_timeout_ms = static_cast<std::int32_t>(config.session_timeout_ms);
  cc.extra = config.kafka.extra;
  // The stall watch counts a partition read to its end as caught up, past
  // a trailing transaction marker (the change topic ends with one).
  cc.report_end_of_partition = true;
  ports.consumer = [cc](kafka::RebalanceListener* listener) -> std::unique_ptr<ConsumerPort> {
    return std::make_unique<KafkaConsumerPort>(cc, listener);
  };
  ports.committer = std::make_unique<BatchCommitter>(
      config.pg.url, config.pg.schema, config.group, config.kafka.topic, component,
      config.pg.limits, config.errors_tolerance == ErrorsTolerance::kAll, !config.migrate, handler);
  return ports;
}

}  // namespace millrace::stream::detail
