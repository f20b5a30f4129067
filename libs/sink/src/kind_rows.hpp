#pragma once

// Writing a batch's records of a kind into its tables, inside the batch's
// transaction: every kind's, the store event's too, from its declaration
// (kinds/declaration.hpp). A row is the declared fields' columns in their
// order, where the record was read (kafka_topic, kafka_partition,
// kafka_offset), then with enrichment on the catalog's product columns on
// the table holding a declared "enrich" sku, and the asset's columns on the
// table holding its symbol. Personal-data fields are written as
// MILLRACE_<KIND>_PII says.
//
// Resends are told by the kind's Identities:
//  - kRegistry (every declared kind): the records and their lines are
//    COPYed into staging tables, then moved with INSERT ... ON CONFLICT on
//    the kind's identities (kind_identities: the tables are partitioned by
//    time, so their keys hold it); a line goes in only with the record row
//    it came with, so a resend stores neither again, whatever its time.
//  - kTableKey (the store event, whose table and key predate
//    kind_identities: migrations/0001): the table's key (time, identity)
//    tells them. The rows are COPYed straight into the table when none is
//    stored already (pg::OptimisticCopy), else staged and moved with
//    INSERT ... ON CONFLICT on that key.
// Either way the resends are re-counted `duplicate`.

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "dead_letters.hpp"
#include "enrichment.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/pg/record_text.hpp"
#include "millrace/stream/batch.hpp"
#include "rows_batch.hpp"

namespace millrace::sink::detail {

// A valid record with the Kafka record it came from.
using KindRow = KeptRow<kinds::Record>;

// HMAC-SHA256 of `value` under `key`, in lower-case hex.
std::string pii_hash(std::string_view key, std::string_view value);

// `kept` rows per partition were written, and PostgreSQL stored `stored` of
// them (INSERT ... ON CONFLICT DO NOTHING): the others were stored already,
// and move from `persisted` to `duplicate` (`reason`) in `batch`'s tallies.
// Returns how many moved.
std::uint64_t count_duplicates(stream::Batch& batch,
                               const std::map<std::int32_t, std::uint64_t>& kept,
                               const std::map<std::int32_t, std::uint64_t>& stored,
                               std::string_view reason);
// The same for `rows`, counted per partition (duplicate_id): from the rows
// written, not the batch's tallies, as `rows` may be a slice of the batch.
template <typename RowT>
std::uint64_t count_duplicates(stream::Batch& batch, const std::vector<const RowT*>& rows,
                               const std::map<std::int32_t, std::uint64_t>& stored) {
  std::map<std::int32_t, std::uint64_t> kept;
  for (const auto* row : rows) ++kept[row->partition];
  return count_duplicates(batch, kept, stored, "duplicate_id");
}

// How a kind's resends are told (above).
enum class Identities : std::uint8_t { kRegistry, kTableKey };

template <typename Record>
class KindRows {
 public:
  using Row = KeptRow<Record>;

  // `declaration` and `lookup` (null: enrichment off) must outlive this.
  KindRows(const kinds::Declaration& declaration, Identities identities, kinds::PiiMode pii,
           std::string pii_key, std::string topic, metrics::Registry& metrics,
           cache::CatalogLookup* lookup);

  // On each new connection: the session's staging tables.
  void prepare(pqxx::connection& connection) const;

  // Writes `rows` (all tallied `persisted`); those stored already move to
  // `duplicate` in `batch`'s tallies. Returns how many. The commit thread
  // only.
  std::uint64_t write(pqxx::work& tx, stream::Batch& batch, const std::vector<const Row*>& rows);

  // The fields of `row`'s record row for COPY (the caller ends the row), as
  // write() sends it; counts the enrichment's lookups of the write under way.
  void append_record(pg::CopyText& out, const Row& row);

 private:
  void copy_records(pqxx::transaction_base& tx, const std::string& table,
                    const std::vector<const Row*>& rows);
  void copy_lines(pqxx::transaction_base& tx, const std::vector<const Row*>& rows);
  // Moves the staged rows into the tables; how many each partition stored.
  std::map<std::int32_t, std::uint64_t> insert_staged(pqxx::work& tx);
  // The product's, then the asset's columns of a record's (or a line's)
  // `values`, as declared for it (`lines`); counts what was looked up.
  template <typename Values>
  void enrich_row(pg::CopyText& out, const Values& values, bool lines);
  void count_enrichment();

  const kinds::Declaration& d_;
  Identities identities_;
  pg::RecordText text_;  // the columns of the fields, as pg writes every kind's
  std::string topic_;
  Enrichment enrichment_;
  bool enrich_records_ = false, enrich_lines_ = false;
  std::optional<AssetEnrichment> assets_;  // with enrichment on, for a kind declaring an asset
  bool asset_records_ = false, asset_lines_ = false;
  // Of the write under way: rows looked up and found, products and assets.
  std::uint64_t looked_up_ = 0, enriched_ = 0, assets_looked_up_ = 0, assets_found_ = 0;
  pg::OptimisticCopy copy_;  // kTableKey
  std::string insert_sql_;
  std::vector<std::string> record_columns_, line_columns_;
};

extern template class KindRows<kinds::Record>;

}  // namespace millrace::sink::detail
