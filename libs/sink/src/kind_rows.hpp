#pragma once

// Writing a batch's records of a declared kind (kinds/declaration.hpp) into
// its tables, inside the batch's transaction: the records and their lines
// are COPYed into staging tables, then moved with INSERT ... ON CONFLICT on
// the kind's identities (kind_identities: the tables are partitioned by
// time, so their keys hold it); a line goes in only with the record row it
// came with, so a resend stores neither again, whatever its time. The
// resends are re-counted `duplicate`.
// Personal-data fields are written as MILLRACE_<KIND>_PII says. A kind
// that declares "enrich" gets, with enrichment on, the catalog's product
// columns filled on the table holding its sku, and the asset's columns on
// the table holding its symbol.

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "dead_letters.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/stream/batch.hpp"
#include "rows_batch.hpp"
#include "store_rows.hpp"

namespace millrace::sink::detail {

// A valid record with the Kafka record it came from.
using KindRow = KeptRow<kinds::Record>;

// HMAC-SHA256 of `value` under `key`, in lower-case hex.
std::string pii_hash(std::string_view key, std::string_view value);

class KindRows {
 public:
  // `declaration` and `lookup` (null: enrichment off) must outlive this.
  KindRows(const kinds::Declaration& declaration, kinds::PiiMode pii, std::string pii_key,
           std::string topic, metrics::Registry& metrics, cache::CatalogLookup* lookup);

  // On each new connection: the session's staging tables.
  void prepare(pqxx::connection& connection) const;

  // Writes `rows` (all tallied `persisted`); those whose identity is stored
  // already move to `duplicate` in `batch`'s tallies. Returns how many.
  std::uint64_t write(pqxx::work& tx, stream::Batch& batch,
                      const std::vector<const KindRow*>& rows);

  // The fields of `row`'s record row for COPY (the caller ends the row), as
  // write() sends it; counts the enrichment's lookups of the write under way.
  void append_record(pg::CopyText& out, const KindRow& row);

 private:
  void append(pg::CopyText& out, const kinds::FieldDecl& field, const kinds::Value& value) const;
  // The catalog's facts for `sku` (declared "enrich"), when enrichment is on.
  bool enrich(pg::CopyText& out, const kinds::Value& sku) const;
  // The product's, then the asset's columns of a record's (or a line's)
  // `values`, as declared for it (`lines`); counts what was looked up.
  void enrich_row(pg::CopyText& out, const std::vector<kinds::Value>& values, bool lines);

  const kinds::Declaration& d_;
  kinds::PiiMode pii_;
  std::string pii_key_;
  std::string topic_;
  Enrichment enrichment_;
  bool enrich_records_ = false, enrich_lines_ = false;
  std::optional<AssetEnrichment> assets_;  // with enrichment on, for a kind declaring an asset
  bool asset_records_ = false, asset_lines_ = false;
  // Of the write under way: rows looked up and found, products and assets.
  std::uint64_t looked_up_ = 0, enriched_ = 0, assets_looked_up_ = 0, assets_found_ = 0;
  std::string insert_sql_;
  std::vector<std::string> record_columns_, line_columns_;
};

}  // namespace millrace::sink::detail
