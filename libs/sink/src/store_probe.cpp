#include "store_probe.hpp"

#include "millrace/metrics/family.hpp"

namespace millrace::sink::detail {

// The sink's partition maintenance's metric families (metrics/family.hpp),
// in the order of their table in docs/operations.md.
const metrics::Family kStorePartitions(
    {.name = "millrace_store_partitions",
     .type = metrics::Type::kGauge,
     .help = "Partitions of store_events (of the kind's record table, for a sink of "
             "a kind), at the last maintenance round",
     .group = "store-partitions"});
const metrics::Family kStorePartitionsCreated(
    {.name = "millrace_store_partitions_created_total",
     .type = metrics::Type::kCounter,
     .help = "Partitions this sink made (ahead of need, or for an older event that "
             "had none)",
     .group = "store-partitions"});
const metrics::Family kStorePartitionsDropped(
    {.name = "millrace_store_partitions_dropped_total",
     .type = metrics::Type::kCounter,
     .help = "Partitions this sink dropped past the retention "
             "(MILLRACE_STORE_RETENTION_DAYS, or the kind's)",
     .group = "store-partitions"});
const metrics::Family kStorePartitionsHeld(
    {.name = "millrace_store_partitions_held",
     .type = metrics::Type::kGauge,
     .help = "Partitions past the retention kept because an archiver has not "
             "archived all of their events yet",
     .group = "store-partitions"});
const metrics::Family kStoreMaintenanceFailures(
    {.name = "millrace_store_maintenance_failures_total",
     .type = metrics::Type::kCounter,
     .help = "Partition maintenance rounds that failed (each retried)",
     .group = "store-partitions"});

StoreProbe::StoreProbe(metrics::Registry& registry)
    : created_(kStorePartitionsCreated.counter(registry)),
      dropped_(kStorePartitionsDropped.counter(registry)),
      failures_(kStoreMaintenanceFailures.counter(registry)),
      partitions_(kStorePartitions.gauge(registry)),
      held_(kStorePartitionsHeld.gauge(registry)) {}

}  // namespace millrace::sink::detail
