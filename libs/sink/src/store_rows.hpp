#pragma once

// Writing a batch's kept rows into store_events, inside the batch's
// transaction: COPY straight into the table when no row is stored already,
// else through a staging table and INSERT ... ON CONFLICT, which re-labels
// the resends `duplicate`. With enrichment on, each row also gets its
// product's facts from the catalog held in memory.

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "dead_letters.hpp"
#include "enrichment.hpp"
#include "millrace/core/event.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/batch.hpp"
#include "rows_batch.hpp"

namespace millrace::sink::detail {

// A kept store event with the record it came from.
using Row = KeptRow<core::StoreEvent>;

// `kept` rows per partition were written, and PostgreSQL stored `stored` of
// them (INSERT ... ON CONFLICT DO NOTHING): the others were stored already,
// and move from `persisted` to `duplicate` (`reason`) in `batch`'s tallies.
// Returns how many moved.
std::uint64_t count_duplicates(stream::Batch& batch,
                               const std::map<std::int32_t, std::uint64_t>& kept,
                               const std::map<std::int32_t, std::uint64_t>& stored,
                               std::string_view reason);
// The same for store events' `rows`, counted per partition.
std::uint64_t count_duplicates(stream::Batch& batch, const std::vector<const Row*>& rows,
                               const std::map<std::int32_t, std::uint64_t>& stored);

class StoreRows {
 public:
  // `config` and `lookup` (null: enrichment off) must outlive this.
  StoreRows(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup);

  // On each new connection: the session's staging table.
  static void prepare(pqxx::connection& connection);

  // Writes `rows` (all kept, tallied `persisted`); those already stored are
  // moved to `duplicate` in `batch`'s tallies. The commit thread only.
  void write(pqxx::work& tx, stream::Batch& batch, const std::vector<const Row*>& rows);

 private:
  std::uint64_t write_via_staging(pqxx::work& tx, stream::Batch& batch,
                                  const std::vector<const Row*>& rows);
  void copy_rows(pqxx::transaction_base& tx, const std::string& table,
                 const std::vector<const Row*>& rows);

  const SinkConfig& config_;
  Enrichment enrichment_;
  pg::OptimisticCopy copy_;
};

}  // namespace millrace::sink::detail
