#include "millrace/kafka/options.hpp"

#include <stdexcept>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/core/setting.hpp"

namespace millrace::kafka {

void register_options(core::OptionSet& o, KafkaClientOptions& k, const TopicOption& topic) {
  // Transport names no topic: a program that did not say which its --topic
  // is (a kind's, the change feed's) is a programming error.
  if (topic.help.empty()) {
    throw std::logic_error("kafka::register_options: --topic without help: say which topic it is");
  }
  core::declare(o, &k.brokers,
                {.flag = "brokers",
                 .env = "MILLRACE_BROKERS",
                 .help = "Kafka bootstrap servers, host:port[,...]"});
  add_topic_option(o, "topic", &k.topic, topic);
  k.topic_env = topic.env;
  core::declare(o, &k.client_id,
                {.flag = "client-id", .env = "MILLRACE_CLIENT_ID", .help = "Kafka client.id"});
  core::declare(
      o, &k.properties,
      {.flag = "kafka-properties",
       .env = "MILLRACE_KAFKA_PROPERTIES",
       .help =
           "Extra librdkafka properties, key=value[,key=value...] (e.g. security.protocol "
           "and sasl.* for a secured cluster); an item without '=' continues the value "
           "before it (debug=cgrp,fetch), and a backslash before a comma keeps it in the value; "
           "values of keys naming a secret are masked when shown",
       .shown = core::Shown::kPropertyList});
}

void add_topic_option(core::OptionSet& o, std::string flag, std::string* target,
                      TopicOption topic) {
  topic.flag = std::move(flag);
  core::declare(o, target, std::move(topic));
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
