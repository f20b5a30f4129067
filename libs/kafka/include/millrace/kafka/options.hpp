#pragma once

#include <string>
#include <utility>

#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

// The Kafka settings every service and command shares, registered once
// (flags --brokers, --topic, --client-id, --kafka-properties and their
// MILLRACE_ variables). Member initialisers are the defaults; a service sets
// its own client_id, and its topic, before registering.
struct KafkaClientOptions {
  std::string brokers = "127.0.0.1:9092";
  // No default here: this is transport, and a program's --topic is the
  // topic of what it reads or writes (a kind's, from its declaration:
  // kinds::topic_setting; the change feed's).
  std::string topic;
  std::string topic_env;  // set by register_options, for messages
  std::string client_id;
  std::string properties;  // MILLRACE_KAFKA_PROPERTIES: key=value[,key=value...]

  Properties extra;  // `properties`, parsed by validate()
};

// Transport's defaults with a program's client.id and topic.
inline KafkaClientOptions client_options(std::string client_id, std::string topic) {
  KafkaClientOptions k;
  k.client_id = std::move(client_id);
  k.topic = std::move(topic);
  return k;
}

// What --topic means for a program: its variable and help (a flag given
// here is replaced by the one it is registered under). Each program says
// which, so a shared variable never points one at another's topic.
using TopicOption = core::Setting;

// The change feed's topic: millrace-changefeed writes it, and the services
// that follow the catalog or the changes read it. One variable, one help.
inline const TopicOption kChangesTopic{
    .env = "MILLRACE_CHANGES_TOPIC",
    .help =
        "Kafka topic of the change feed (millrace-changefeed writes it; the cache, the API's "
        "live stream, webhooks, the sink's enrichment and the aggregator's views grouped by "
        "the catalog read it)"};

void register_options(core::OptionSet& options, KafkaClientOptions& kafka,
                      const TopicOption& topic);
// `topic`'s variable and help under another flag than --topic, for a
// program whose --topic is another topic (the sink's --changes-topic).
// register_options declares --topic through it.
void add_topic_option(core::OptionSet& options, std::string flag, std::string* target,
                      TopicOption topic);
// Non-empty brokers and topic; parses the properties. Throws core::UsageError
// naming the setting. A service refuses the properties it sets itself after
// this (e.g. refuse_consumer_overrides).
void validate(KafkaClientOptions& kafka);

}  // namespace millrace::kafka
