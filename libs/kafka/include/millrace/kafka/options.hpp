#pragma once

#include <string>
#include <utility>

#include "millrace/core/options.hpp"
#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

// The Kafka settings every service and command shares, registered once
// (flags --brokers, --topic, --client-id, --kafka-properties and their
// MILLRACE_ variables). Member initialisers are the defaults; a service sets
// its own client_id before registering.
struct KafkaClientOptions {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "store-events";
  std::string topic_env = "MILLRACE_TOPIC";  // set by register_options, for messages
  std::string client_id;
  std::string properties;  // MILLRACE_KAFKA_PROPERTIES: key=value[,key=value...]

  Properties extra;  // `properties`, parsed by validate()
};

// The defaults with a service's own client.id.
inline KafkaClientOptions client_options(std::string client_id) {
  KafkaClientOptions k;
  k.client_id = std::move(client_id);
  return k;
}

// What --topic means for a service: its variable and help. Services that
// read or write another topic than the store events take their own variable,
// so a shared MILLRACE_TOPIC never points them at the wrong one.
struct TopicOption {
  std::string env = "MILLRACE_TOPIC";
  std::string help = "Kafka topic of store events";
};

// The change feed's topic: millrace-changefeed writes it, and the services
// that follow the catalog or the changes read it. One variable, one help.
inline const TopicOption kChangesTopic{
    "MILLRACE_CHANGES_TOPIC",
    "Kafka topic of the change feed (millrace-changefeed writes it; the cache, the API's live "
    "stream, webhooks and the sink's enrichment read it)"};

// The store events' dead-letter topic: the sink writes it, `millrace
// create-topics` makes it.
inline const TopicOption kDeadLetterTopic{
    "MILLRACE_DLQ_TOPIC",
    "Dead-letter topic of invalid store events (default: <topic>.dlq); a declared kind's is "
    "--<kind>-dlq-topic"};

void register_options(core::OptionSet& options, KafkaClientOptions& kafka,
                      const TopicOption& topic = {});
// `topic`'s variable and help under another flag than --topic, for a
// program whose --topic is another topic (the sink's --changes-topic).
void add_topic_option(core::OptionSet& options, std::string flag, std::string* target,
                      const TopicOption& topic);
// Non-empty brokers and topic; parses the properties. Throws core::UsageError
// naming the setting. A service refuses the properties it sets itself after
// this (e.g. refuse_consumer_overrides).
void validate(KafkaClientOptions& kafka);

}  // namespace millrace::kafka
