#pragma once

#include <memory>

#include "millrace/metrics/metrics.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/service.hpp"

namespace millrace::sink {

// millrace-sink: one member of the sink consumer group. It consumes store
// events, validates and filters them, dead-letters invalid ones, and commits
// kept rows together with offsets and accounting in one PostgreSQL
// transaction (docs/exactly-once.md). Its start() creates the Kafka handles
// (bad properties throw) and checks the dead-letter topic exists; its stop()
// finishes and commits the current batch, leaves the group, then flushes
// the dead-letter producer.
std::unique_ptr<stream::ConsumerService> make_sink(SinkConfig config, metrics::Registry& metrics);

}  // namespace millrace::sink
