#pragma once

// Every kind's aggregator tables, from its declaration (millrace-aggregator,
// --kind order, or the store event by default): each identity folded once
// in aggregator_seen_ids (seen_ids.hpp), late and future records aside in
// late_records, the declared views (view_deltas.hpp) and, for a kind with
// an aggregate section (kinds::AggregateDecl), the hourly, daily and
// per-product totals in its agg_<name>_hourly, _daily and _items. A resend
// counts once, and a late record corrects a past window while it is within
// the lateness horizon (docs/views.md).
//
// The store event has, instead of late_records, the table it had before
// declarations (store_sales.hpp): late_events, and its id reused by an
// event of another time is another event. Its agg_hourly, agg_daily,
// agg_products and agg_categories are declared views adopting those
// tables (proto/kinds/store_event.json), folded as every view.

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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
#include "millrace/kinds/store_event.hpp"
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
  // One per declared view, in the declaration's order. A view made of
  // another's slots (detail::slot_sources()) is made when it is read.
  const std::vector<detail::ViewDeltas>& views() const;

 private:
  const kinds::Declaration* d_;
  std::map<WindowKey, KindSums> hourly_, daily_;
  std::map<std::int64_t, KindSums> items_;
  mutable std::vector<detail::ViewDeltas> views_;
  std::vector<std::optional<detail::SlotSource>> sources_;  // per view
  mutable bool made_ = true;  // the views made of others' slots hold every row folded
};

using KindTables = BatchTables<kinds::Record, KindDeltas>;

// aggregator_seen_ids, late_records and agg_<name>_*, in the batch's
// transaction.
class PgKindTables final : public PgTables<KindTables> {
 public:
  // `declaration`, `seen` (the kind's identities) and `sales` (the store
  // event's fields, null for another kind) must outlive this.
  PgKindTables(pqxx::work& tx, const std::string& group, const std::string& topic,
               const kinds::Declaration& declaration, SeenIds& seen,
               const kinds::StoreEventFields* sales)
      : PgTables(tx, group, topic), d_(declaration), seen_(seen), sales_(sales) {}

  // The identities go to aggregator_seen_ids with their event time; those
  // it held already come back, with the time held (which only the store
  // event reads: another kind never reuses an identity).
  HeldIds record_seen_ids(const std::vector<SeenId>& ids) override;
  // The store event's aggregator_reused_ids (store_sales.hpp).
  std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& records) override;
  // late_records: one folded before (a resend that comes after its
  // partition moved on), kept aside before, or repeated in `late` is not
  // stored. The store event's go to late_events, by id.
  Stored insert_late(const Late<kinds::Record>& late, const PartitionMax& max_ts) override;
  void apply_deltas(const KindDeltas& deltas) override;
  // Identities older than every partition's horizon, plus an hour, are
  // forgotten: a resend of one of them is late, and never folds.
  void prune_seen_ids(std::int64_t max_lateness_s) override;

 private:
  const kinds::Declaration& d_;
  SeenIds& seen_;
  const kinds::StoreEventFields* sales_;
};

}  // namespace millrace::aggregate::tables

namespace millrace::aggregate {

// What the aggregator does with a kind's records (--kind <kind>, the store
// event by default): the handler's kind (handler.hpp). A record is its
// identity: the same identity again is a resend, whatever its time; but
// for a kind whose resends are told by its table's key, (time, identity)
// ("resends": "table_key": the store event's), the same identity at
// another time is another record.
class KindAggregates {
 public:
  using Codec = kinds::DeclaredCodec;
  using Deltas = tables::KindDeltas;
  using Tables = tables::KindTables;

  // `config`, with its resolved declaration, and `metrics`, the
  // aggregator's, must outlive this. A kind with a view grouped by the
  // catalog follows the catalog, as the sink's enrichment does
  // (cache::CatalogLookup, its probe's metrics on `metrics`), from the first
  // connect until this is destroyed.
  KindAggregates(const AggregatorConfig& config, metrics::Registry& metrics);

  const Codec& codec() const { return codec_; }
  // Whether the same identity at another time is another record.
  bool ids_reused() const { return ids_reused_; }
  // The order identities are recorded in, before their text's: a uuid
  // identity's 128 bits (integer comparisons; sorting the ids' text took
  // the commit thread about 5 % longer, docs/benchmarks.md, change 26),
  // the same for any other (their text's order then). A uuid identity is
  // canonical (lower-case), so its bits' order is its text's.
  UuidBits id_order(const std::string& id) const {
    return uuid_identity_ ? uuid_bits(id) : UuidBits{};
  }
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
    return {tx,    config_.stream.group,       config_.stream.kafka.topic, codec_.declaration(),
            seen_, sales_ ? &*sales_ : nullptr};
  }

 private:
  const AggregatorConfig& config_;
  Codec codec_;
  bool ids_reused_;
  bool uuid_identity_;
  std::optional<kinds::StoreEventFields> sales_;   // the store event's only
  std::unique_ptr<cache::CatalogLookup> catalog_;  // null: no view groups by it
  tables::SeenIds seen_;  // the kind's identities; commit thread only (write())
};

}  // namespace millrace::aggregate
