#include "tables.hpp"

namespace millrace::aggregate::tables {

std::string ts_literal(pqxx::work& tx, core::TimestampUs ts) {
  return tx.quote(core::format_timestamp(ts));
}

PartitionMax read_partition_max(pqxx::work& tx, const std::string& topic) {
  PartitionMax max_ts;
  for (const auto& row :
       tx.exec_params("SELECT partition, (extract(epoch FROM max_event_ts) * 1000000)::bigint "
                      "FROM aggregator_partitions WHERE topic = $1",
                      topic)) {
    max_ts[row[0].as<std::int32_t>()] = row[1].as<std::int64_t>();
  }
  return max_ts;
}

void advance_partition_max(pqxx::work& tx, const std::string& topic, const PartitionMax& max_ts,
                           const std::set<std::int32_t>& partitions) {
  std::string values;
  for (const auto& [partition, m] : max_ts) {
    if (!m || !partitions.contains(partition)) continue;
    if (!values.empty()) values += ',';
    values += "(" + tx.quote(topic) + "," + std::to_string(partition) + "," + ts_literal(tx, *m) +
              "::timestamptz)";
  }
  if (values.empty()) return;
  tx.exec("INSERT INTO aggregator_partitions (topic, partition, max_event_ts) VALUES " + values +
          " ON CONFLICT (topic, partition) DO UPDATE SET max_event_ts = "
          "greatest(aggregator_partitions.max_event_ts, EXCLUDED.max_event_ts)");
}

core::TimestampUs database_now(pqxx::work& tx) {
  return tx.exec1("SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint")[0]
      .as<std::int64_t>();
}

}  // namespace millrace::aggregate::tables
