#include "millrace/changefeed/snapshot.hpp"

#include <limits>

namespace millrace::changefeed {

Checkpoint snapshot_checkpoint(Lsn consistent_point) {
  return checkpoint_at(consistent_point - 1, consistent_point);
}

SnapshotResult publish_snapshot(SnapshotSource& source, SnapshotSink& sink,
                                PrimaryKeyLookup primary_key, const SnapshotProgress& progress) {
  if (source.consistent_point() == 0) {
    throw DecodeError("snapshot: the slot reported no consistent point");
  }
  SnapshotResult result;
  result.checkpoint = snapshot_checkpoint(source.consistent_point());
  // The same rule the stream's changes get their key columns by, so a row's
  // snapshot record and its later changes share a Kafka key and partition.
  Assembler keys(std::move(primary_key));
  sink.begin();
  try {
    std::uint64_t seq = 0;
    for (const auto& table : source.tables()) {
      const auto key_columns = keys.key_columns(*table);
      std::uint64_t table_rows = 0;
      source.rows(*table, [&](Tuple&& row) {
        if (row.size() != table->columns.size()) {
          throw DecodeError("snapshot: a row of " + table->schema + "." + table->name + " with " +
                            std::to_string(row.size()) + " column(s), but the table has " +
                            std::to_string(table->columns.size()));
        }
        if (seq > std::numeric_limits<std::uint32_t>::max()) {
          throw DecodeError("snapshot: more than 4,294,967,295 rows do not fit one snapshot");
        }
        Change c;
        c.op = Op::kRead;
        c.relation = table;
        c.key_columns = key_columns;
        c.after = std::move(row);
        c.source.commit_lsn = result.checkpoint.commit_lsn;
        c.source.commit_time_pg_us = source.taken_at_pg_us();
        c.source.seq = static_cast<std::uint32_t>(seq++);
        sink.add(c);
        ++table_rows;
        if (progress && table_rows % kSnapshotProgressRows == 0)
          progress(*table, table_rows, false);
      });
      result.rows += table_rows;
      ++result.tables;
      if (progress) progress(*table, table_rows, true);
    }
    sink.commit(result.checkpoint);
  } catch (...) {
    sink.abort();
    throw;
  }
  return result;
}

}  // namespace millrace::changefeed
