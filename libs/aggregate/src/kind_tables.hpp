#pragma once

// A declared kind's aggregator tables (a kind with an aggregate section,
// kinds::AggregateDecl; millrace-aggregator --kind order): each identity
// folded once in aggregator_seen_ids (seen_ids.hpp), late and future records aside in
// late_records, and the hourly, daily and per-product totals in the
// declaration's agg_<name>_hourly, _daily and _items. The rules are the
// store events' (tables.hpp), by identity instead of event id: a resend
// counts once, and a late record corrects a past window while it is within
// the lateness horizon.

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "millrace/aggregate/config.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/core/decimal.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "tables.hpp"
#include "upsert.hpp"
#include "view_deltas.hpp"

namespace millrace::aggregate::tables {

using detail::WideSum;

// One window's or product's additions, exact: amounts in micro-units, the
// declared sums (AggregateDecl::sums, in their order) in their own scales.
struct KindSums {
  std::int64_t records = 0;
  core::Int128 amount = 0;
  std::int64_t units = 0;
  std::vector<WideSum> sums;
};

// A window's row: its start and the values of the aggregate's groups, as
// text (PostgreSQL casts them to their columns' types).
struct WindowKey {
  core::TimestampUs start;
  std::vector<std::string> groups;
  friend auto operator<=>(const WindowKey&, const WindowKey&) = default;
};

// What a batch of a declared kind's records adds to its aggregates: every
// record to its hour and day (of its groups' values), each line's product
// to the product's totals.
class KindDeltas {
 public:
  // `declaration` (with an aggregate section, or views) must outlive this.
  // `catalog` is its views' grouped by the catalog (detail::ViewDeltas),
  // needed when one is: a caller folding records knows nothing else of it.
  explicit KindDeltas(const kinds::Declaration& declaration, detail::ProductLookup catalog = {});

  void fold(const kinds::Record& record);

  const std::map<WindowKey, KindSums>& hourly() const { return hourly_; }
  const std::map<WindowKey, KindSums>& daily() const { return daily_; }
  const std::map<std::int64_t, KindSums>& items() const { return items_; }
  // One per declared view, in the declaration's order.
  const std::vector<detail::ViewDeltas>& views() const { return views_; }

 private:
  const kinds::Declaration* d_;
  std::map<WindowKey, KindSums> hourly_, daily_;
  std::map<std::int64_t, KindSums> items_;
  std::vector<detail::ViewDeltas> views_;
};

using KindTables = BatchTables<kinds::Record, KindDeltas>;

// aggregator_seen_ids, late_records and agg_<name>_*, in the batch's
// transaction.
class PgKindTables final : public PgTables<KindTables> {
 public:
  // `declaration` and `seen`, the kind's identities, must outlive this.
  PgKindTables(pqxx::work& tx, const std::string& group, const std::string& topic,
               const kinds::Declaration& declaration, SeenIds& seen)
      : PgTables(tx, group, topic), d_(declaration), seen_(seen) {}

  // The identities go to aggregator_seen_ids with their event time; those
  // it held already come back (a declared kind never reuses an identity, so
  // their time does not matter).
  HeldIds record_seen_ids(const std::vector<SeenId>& ids) override;
  // One folded before (a resend that comes after its partition moved on),
  // kept aside before, or repeated in `late` is not stored.
  Stored insert_late(const Late<kinds::Record>& late, const PartitionMax& max_ts) override;
  void apply_deltas(const KindDeltas& deltas) override;
  // Identities older than every partition's horizon, plus an hour, are
  // forgotten: a resend of one of them is late, and never folds.
  void prune_seen_ids(std::int64_t max_lateness_s) override;

 private:
  const kinds::Declaration& d_;
  SeenIds& seen_;
};

}  // namespace millrace::aggregate::tables

namespace millrace::aggregate {

// What the aggregator does with a declared kind's records (--kind <kind>):
// the handler's template parameter (handler.hpp). A record is its
// identity: the same identity again is a resend, whatever its time.
class KindAggregates
    : public KindTypes<kinds::DeclaredCodec, tables::KindDeltas, tables::KindTables, false> {
 public:
  // `config`, with its resolved declaration, and `metrics`, the
  // aggregator's, must outlive this. A kind with a view grouped by the
  // catalog follows the catalog, as the sink's enrichment does
  // (cache::CatalogLookup, its probe's metrics on `metrics`), from the first
  // connect until this is destroyed.
  KindAggregates(const AggregatorConfig& config, metrics::Registry& metrics);

  const Codec& codec() const { return codec_; }
  // Identities are recorded in their text's order.
  static std::monostate id_order(const std::string&) { return {}; }
  // With a view grouped by the catalog, waits for the catalog to be loaded
  // (a retryable failure after --catalog-wait-ms): a batch's rows are
  // grouped by a whole catalog, never a part of one.
  Deltas deltas() const;
  // The catalog for the views grouped by it, once loaded (waiting up to
  // --catalog-wait-ms, else throwing core::InfraError, retryable); an empty
  // lookup when no view groups by it. Thread-safe: the view fills call it
  // too (view_fill.hpp).
  detail::ProductLookup catalog_lookup() const;

  // Makes or checks the kind's tables (pg::prepare_kind_tables), looks up
  // the kind's number in aggregator_topics and starts following the
  // catalog.
  void on_connect(pqxx::connection& connection);
  tables::PgKindTables pg_tables(pqxx::work& tx) {
    return {tx, config_.stream.group, config_.stream.kafka.topic, codec_.declaration(), seen_};
  }

 private:
  const AggregatorConfig& config_;
  Codec codec_;
  std::unique_ptr<cache::CatalogLookup> catalog_;  // null: no view groups by it
  tables::SeenIds seen_;  // the kind's identities; commit thread only (write())
};

}  // namespace millrace::aggregate
