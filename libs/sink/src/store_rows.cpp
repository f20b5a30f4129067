#include "store_rows.hpp"

#include <map>

#include "millrace/pg/store_events.hpp"

namespace millrace::sink::detail {

StoreRows::StoreRows(const SinkConfig& config, metrics::Registry& metrics,
                     cache::CatalogLookup* lookup)
    : config_(config), enrichment_(metrics, lookup) {}

void StoreRows::prepare(pqxx::connection& connection) {
  pqxx::nontransaction tx(connection);
  // Rows are staged with COPY, then moved with ON CONFLICT DO NOTHING: COPY
  // alone cannot skip ids that are already stored.
  tx.exec(
      "CREATE TEMP TABLE IF NOT EXISTS millrace_staging "
      "(LIKE store_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
}

void StoreRows::write(pqxx::work& tx, stream::Batch& batch, const std::vector<const Row*>& rows) {
  // Stored directly, every kept row is persisted: the tally is right.
  copy_.write(
      tx, "direct_copy", [&](pqxx::transaction_base& t) { copy_rows(t, "store_events", rows); },
      [&] { return write_via_staging(tx, batch, rows); });
}

// Returns how many of `rows` were stored already (re-labelled duplicates).
std::uint64_t StoreRows::write_via_staging(pqxx::work& tx, stream::Batch& batch,
                                           const std::vector<const Row*>& rows) {
  // Staging may hold rows of an earlier write in this transaction (the
  // consumer writes slices when it isolates refused records).
  tx.exec("DELETE FROM millrace_staging");
  copy_rows(tx, "millrace_staging", rows);
  const auto inserted = tx.exec(
      "WITH ins AS (INSERT INTO store_events SELECT * FROM millrace_staging "
      "ON CONFLICT (ts, id) DO NOTHING RETURNING kafka_partition) "
      "SELECT kafka_partition, count(*) FROM ins GROUP BY kafka_partition");
  std::map<std::int32_t, std::uint64_t> by_partition;
  for (const auto& r : inserted) by_partition[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
  return count_duplicates(batch, rows, by_partition);
}

std::uint64_t count_duplicates(stream::Batch& batch, const std::vector<const Row*>& rows,
                               const std::map<std::int32_t, std::uint64_t>& stored) {
  // Counted from the rows written, not the batch's tallies: `rows` may be
  // a slice of the batch.
  std::map<std::int32_t, std::uint64_t> kept;
  for (const auto* row : rows) ++kept[row->partition];
  return count_duplicates(batch, kept, stored, "duplicate_id");
}

std::uint64_t count_duplicates(stream::Batch& batch,
                               const std::map<std::int32_t, std::uint64_t>& kept,
                               const std::map<std::int32_t, std::uint64_t>& stored,
                               std::string_view reason) {
  std::uint64_t duplicates = 0;
  for (const auto& [partition, n] : kept) {
    const auto it = stored.find(partition);
    const std::uint64_t new_rows = it == stored.end() ? 0 : it->second;
    batch.at(partition).tally.move({core::Outcome::kPersisted, ""},
                                   {core::Outcome::kDuplicate, reason}, n - new_rows);
    duplicates += n - new_rows;
  }
  return duplicates;
}

void StoreRows::copy_rows(pqxx::transaction_base& tx, const std::string& table,
                          const std::vector<const Row*>& rows) {
  if (!enrichment_.on()) {
    pg::CopyWriter copy(tx, table, pg::kStoreEventColumns);
    for (const auto* row : rows) {
      pg::append_store_event(copy.row(), row->record, config_.stream.kafka.topic, row->partition,
                             row->offset);
      copy.end_row();
    }
    copy.complete();
    return;
  }
  std::vector<std::string> columns = pg::kStoreEventColumns;
  columns.insert(columns.end(), pg::kEnrichmentColumns.begin(), pg::kEnrichmentColumns.end());
  pg::CopyWriter copy(tx, table, columns);
  std::uint64_t known = 0;
  for (const auto* row : rows) {
    auto& line = copy.row();
    pg::append_store_event(line, row->record, config_.stream.kafka.topic, row->partition,
                           row->offset);
    known += enrichment_.append(line, row->record.sku) ? 1 : 0;
    copy.end_row();
  }
  copy.complete();
  enrichment_.count(rows.size(), known);
}

}  // namespace millrace::sink::detail
