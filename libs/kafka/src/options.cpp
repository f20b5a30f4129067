#include "millrace/kafka/options.hpp"

#include <stdexcept>
#include <utility>

#include "millrace/core/failure.hpp"

namespace millrace::kafka {

void register_options(core::OptionSet& o, KafkaClientOptions& k, const TopicOption& topic) {
  o.add_string("brokers", "MILLRACE_BROKERS", &k.brokers,
               "Kafka bootstrap servers, host:port[,...]");
  k.topic_env = topic.env;
  o.add_string("topic", topic.env, &k.topic, topic.help);
  o.add_string("client-id", "MILLRACE_CLIENT_ID", &k.client_id, "Kafka client.id");
  o.add_string(
      "kafka-properties", "MILLRACE_KAFKA_PROPERTIES", &k.properties,
      "Extra librdkafka properties, key=value[,key=value...] (e.g. security.protocol "
      "and sasl.* for a secured cluster); values of keys naming a secret are masked when shown",
      core::OptionSet::Shown::kPropertyList);
}

void add_topic_option(core::OptionSet& o, std::string flag, std::string* target,
                      const TopicOption& topic) {
  o.add_string(std::move(flag), topic.env, target, topic.help);
}

void validate(KafkaClientOptions& k) {
  if (k.brokers.empty()) throw core::UsageError("--brokers / MILLRACE_BROKERS must not be empty");
  if (k.topic.empty()) throw core::UsageError("--topic / " + k.topic_env + " must not be empty");
  try {
    k.extra = parse_properties(k.properties);
  } catch (const std::invalid_argument& e) {
    throw core::UsageError(std::string("--kafka-properties / MILLRACE_KAFKA_PROPERTIES: ") +
                           e.what());
  }
}

}  // namespace millrace::kafka
