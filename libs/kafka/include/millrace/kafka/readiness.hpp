#pragma once
// Readiness probes on Kafka (runtime::Health): the brokers answer, and a
// topic a service reads or writes exists.

#include <string>

#include "millrace/kafka/options.hpp"
#include "millrace/runtime/health.hpp"

namespace millrace::kafka {

// A probe with a client handle of its own (it never shares a consumer's
// queues), made on the first call. Its problems:
// - "kafka": no broker of `options.brokers` answered a metadata request
//   within 3 s;
// - "kafka_topic": `topic` does not exist, with `create` as the action (the
//   command that creates it), or the broker refuses to describe it.
// Asks without creating: allow.auto.create.topics=false.
runtime::Health::Probe topic_probe(const KafkaClientOptions& options, std::string topic,
                                   std::string create);

}  // namespace millrace::kafka
