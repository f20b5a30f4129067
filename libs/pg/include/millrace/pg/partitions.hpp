#pragma once

// store_events' partitions as an operator sees them (`millrace store
// partitions`): migration 0011_store_partitions.sql makes the table, the
// sinks keep it (libs/sink/src/store_partitions.cpp).

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::pg {

struct StorePartition {
  std::string name;
  std::string from_ts, to_ts;  // as PostgreSQL prints them, in UTC
  std::int64_t rows = 0;       // counted, or the planner's estimate
  bool rows_exact = false;
  std::int64_t bytes = 0;  // table and indexes
};

// Every partition of store_events, oldest first (store_partitions also
// lists the declared kinds' since migration 0018). `exact` counts each one's rows (a scan of
// the whole table); otherwise the planner's estimate, which ANALYZE (and
// autovacuum) keep current.
std::vector<StorePartition> list_store_partitions(pqxx::connection& connection, bool exact);

// One line per partition and a total, as `millrace store partitions` prints.
std::string render_store_partitions(const std::vector<StorePartition>& partitions);

}  // namespace millrace::pg
