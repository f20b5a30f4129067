#pragma once

#include <memory>

#include "millrace/aggregate/config.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/service.hpp"

namespace millrace::aggregate {

// millrace-aggregator: one member of the aggregator consumer group. It folds
// every valid event into hourly and daily windows, top products and
// categories, applied to PostgreSQL as additive upserts in the same
// transaction as the offsets (docs/views.md).
std::unique_ptr<stream::ConsumerService> make_aggregator(AggregatorConfig config,
                                                         metrics::Registry& metrics);

}  // namespace millrace::aggregate
