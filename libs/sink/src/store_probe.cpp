#include "store_probe.hpp"

namespace millrace::sink::detail {

StoreProbe::StoreProbe(metrics::Registry& registry)
    : created_(registry.counter("millrace_store_partitions_created_total",
                                "Partitions of store_events this sink made (ahead of need, or "
                                "for an older event that had none)")),
      dropped_(registry.counter("millrace_store_partitions_dropped_total",
                                "Partitions of store_events this sink dropped past the retention "
                                "(MILLRACE_STORE_RETENTION_DAYS)")),
      failures_(registry.counter("millrace_store_maintenance_failures_total",
                                 "Partition maintenance rounds that failed (each retried)")),
      partitions_(registry.gauge("millrace_store_partitions",
                                 "Partitions of store_events, at the last maintenance round")),
      held_(registry.gauge("millrace_store_partitions_held",
                           "Partitions past the retention kept because an archiver has not "
                           "archived all of their events yet")) {}

}  // namespace millrace::sink::detail
