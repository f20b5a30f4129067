#include "kind_tables.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <unordered_set>
#include <variant>

#include "millrace/core/failure.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/kinds/view_decl.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/pg/array.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/schema_setup.hpp"
#include "store_sales.hpp"
#include "upsert.hpp"

namespace millrace::aggregate {

namespace {

using detail::Column;
using detail::scaled_text;
using detail::upsert;

std::string micros_text(core::Int128 micros) {
  return scaled_text(micros, 6, 2);
}

// The window tables' rows: a key's first row holds its records, amount and
// units and each sum's first part, and a row more for each further part.
void upsert_windows(pqxx::work& tx, const std::string& table, const kinds::Declaration& d,
                    const std::map<tables::WindowKey, tables::KindSums>& windows) {
  if (windows.empty()) return;
  const auto& a = *d.aggregate;
  using enum Column::Combine;
  std::vector<Column> columns{{"window_start", "timestamptz", kKey, {}}};
  for (const auto g : a.group_by) {
    const auto& f = d.fields[g];
    columns.push_back({f.column, pg::column_type(f.type), kKey, {}});
  }
  columns.push_back({"records", "bigint", kSum, {}});
  columns.push_back({"amount", "numeric", kSum, {}});
  columns.push_back({"units", "bigint", kSum, {}});
  for (const auto& sum : a.sums) columns.push_back({sum.as, "numeric", kSum, {}});
  for (const auto& [key, s] : windows) {
    std::size_t rows = 1;
    for (const auto& sum : s.sums) rows = std::max(rows, sum.parts.size());
    for (std::size_t row = 0; row < rows; ++row) {
      std::size_t c = 0;
      columns[c++].values.add(core::format_timestamp(key.start));
      for (const auto& g : key.groups) columns[c++].values.add(g);
      columns[c++].values.add(row == 0 ? s.records : 0);
      columns[c++].values.add(row == 0 ? micros_text(s.amount) : "0");
      columns[c++].values.add(row == 0 ? s.units : 0);
      for (std::size_t i = 0; i < a.sums.size(); ++i) {
        const auto& parts = s.sums[i].parts;
        columns[c++].values.add(row < parts.size() ? scaled_text(parts[row], a.sums[i].scale, 0)
                                                   : "0");
      }
    }
  }
  upsert(tx, table, columns);
}

void upsert_items(pqxx::work& tx, const std::string& table,
                  const std::map<std::int64_t, tables::KindSums>& items) {
  if (items.empty()) return;
  using enum Column::Combine;
  std::vector<Column> columns{{"item", "bigint", kKey, {}},
                              {"records", "bigint", kSum, {}},
                              {"amount", "numeric", kSum, {}},
                              {"units", "bigint", kSum, {}}};
  for (const auto& [item, s] : items) {
    columns[0].values.add(item);
    columns[1].values.add(s.records);
    columns[2].values.add(micros_text(s.amount));
    columns[3].values.add(s.units);
  }
  upsert(tx, table, columns);
}

// The text of a group's value: a text field's, or an integer's digits.
std::string group_text(const kinds::Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

// A term of a declared sum: its fields' values multiplied, in units of
// their scales (a decimal's micro-units, an integer itself).
core::Int128 term(const kinds::Record& record, const kinds::SumDecl& sum) {
  core::Int128 out = 1;
  for (const auto f : sum.of) {
    const auto& v = record.values[f];
    out *= std::holds_alternative<core::Decimal>(v) ? std::get<core::Decimal>(v).units()
                                                    : std::get<std::int64_t>(v);
  }
  return out;
}

}  // namespace

namespace {

bool is_store_event(const kinds::Declaration& d) {
  return d.kind == kinds::kStoreEvent;
}

}  // namespace

// The store event keeps its ids under its topic's name, as it did before
// declared kinds (seen_ids.hpp); a declared kind under "kind:<kind>".
KindAggregates::KindAggregates(const AggregatorConfig& config, metrics::Registry& metrics)
    : config_(config),
      codec_(*config.kinds.declaration),
      ids_reused_(config.kinds.declaration->resends == kinds::Resends::kTableKey),
      uuid_identity_(config.kinds.declaration->fields[config.kinds.declaration->identity].type ==
                     kinds::ValueType::kUuid),
      seen_(is_store_event(*config.kinds.declaration) ? config.stream.kafka.topic
                                                      : "kind:" + config.kinds.declaration->kind,
            uuid_identity_) {
  if (is_store_event(*config.kinds.declaration)) sales_.emplace(*config.kinds.declaration);
  const auto& views = config.kinds.declaration->views;
  if (std::none_of(views.begin(), views.end(),
                   [](const kinds::ViewDecl& v) { return v.needs_catalog(); })) {
    return;
  }
  catalog_ = std::make_unique<cache::CatalogLookup>(
      cache::follow_config(config.stream.kafka, config.changes_topic, config.stream.pg,
                           config.stream.retry),
      metrics);
}

void KindAggregates::on_connect(pqxx::connection& connection) {
  // The views are the aggregator's: it rebuilds a changed one and drops
  // one no longer declared, then claims those made since it last folded.
  pg::prepare_kind_tables(connection, config_.stream.pg.schema, codec_.declaration(),
                          config_.stream.migrate, pg::ViewChanges::kRebuild);
  if (kinds::fills_any(codec_.declaration().views)) {
    pg::claim_view_fills(connection, codec_.declaration().kind, config_.stream.group,
                         config_.stream.kafka.topic);
  }
  seen_.connect(connection);
  if (catalog_) catalog_->start();  // once: a start after the first does nothing
}

detail::ProductLookup KindAggregates::catalog_lookup() const {
  if (!catalog_) return {};
  catalog_->rethrow_failure();
  if (!catalog_->wait_ready(std::chrono::milliseconds(config_.catalog_wait_ms))) {
    throw core::InfraError(
        core::FailureClass::kRetryable,
        "the catalog for the views grouped by it is not loaded yet (it follows " +
            config_.changes_topic + ")");
  }
  const cache::CatalogLookup* lookup = catalog_.get();
  return [lookup](std::int64_t sku) { return lookup->product(sku); };
}

tables::KindDeltas KindAggregates::deltas() const {
  return tables::KindDeltas(codec_.declaration(), catalog_lookup());
}

namespace tables {

KindDeltas::KindDeltas(const kinds::Declaration& declaration, detail::ProductLookup catalog)
    : d_(&declaration), sources_(detail::slot_sources(declaration)) {
  views_.reserve(declaration.views.size());
  for (const auto& v : declaration.views) {
    views_.emplace_back(declaration, v, v.needs_catalog() ? catalog : detail::ProductLookup{});
  }
}

const std::vector<detail::ViewDeltas>& KindDeltas::views() const {
  if (made_) return views_;
  for (std::size_t i = 0; i < views_.size(); ++i) {
    if (!sources_[i]) continue;
    views_[i].clear();
    views_[i].add_slots(views_[sources_[i]->view], *sources_[i]);
  }
  made_ = true;
  return views_;
}

void KindDeltas::fold(const kinds::Record& record) {
  for (std::size_t i = 0; i < views_.size(); ++i) {
    if (!sources_[i]) views_[i].fold(record);
  }
  made_ = false;
  if (!d_->aggregate) return;
  const auto& a = *d_->aggregate;
  KindSums s;
  s.records = 1;
  if (a.amount) s.amount = std::get<core::Decimal>(record.values[*a.amount]).units();
  std::map<std::int64_t, KindSums> mine;
  for (const auto& line : record.lines) {
    if (!a.item) break;
    const auto quantity = std::get<std::int64_t>(line[*a.quantity]);
    s.units += quantity;
    auto& item = mine[std::get<std::int64_t>(line[*a.item])];
    item.units += quantity;
    item.amount +=
        static_cast<core::Int128>(quantity) * std::get<core::Decimal>(line[*a.price]).units();
    item.records = 1;  // a record counts once per product, however many lines
  }
  const auto ts = record.time(*d_);
  std::vector<std::string> groups;
  for (const auto g : a.group_by) groups.push_back(group_text(record.values[g]));
  for (auto* window :
       {&hourly_[{core::hour_start(ts), groups}], &daily_[{core::day_start(ts), groups}]}) {
    window->records += s.records;
    window->amount += s.amount;
    window->units += s.units;
    window->sums.resize(a.sums.size());
    for (std::size_t i = 0; i < a.sums.size(); ++i) window->sums[i].add(term(record, a.sums[i]));
  }
  for (const auto& [item, add] : mine) {
    auto& t = items_[item];
    t.records += add.records;
    t.amount += add.amount;
    t.units += add.units;
  }
}

HeldIds PgKindTables::record_seen_ids(const std::vector<SeenId>& ids) {
  return seen_.record(tx_, ids);
}

std::set<EventKey> PgKindTables::insert_reused_ids(const std::vector<SeenId>& records) {
  if (!sales_) throw std::logic_error("kind " + d_.kind + " reuses no identity");
  return tables::insert_reused_ids(tx_, topic_, records);
}

Stored PgKindTables::insert_late(const Late<kinds::Record>& late, const PartitionMax& max_ts) {
  if (sales_) return tables::insert_late(tx_, topic_, *sales_, late, max_ts);
  Stored stored;
  if (late.empty()) return stored;
  std::vector<std::string> candidates;
  for (const auto& [p, verdict] : late) candidates.push_back(p->record.identity(d_));
  const auto folded = seen_.held(tx_, candidates);
  pg::ArrayLiteral ids, verdicts, times, maxes, partitions, offsets, payloads;
  std::unordered_set<std::string_view> in_batch;
  for (const auto& [p, verdict] : late) {
    const auto& id = p->record.identity(d_);
    if (folded.contains(id) || !in_batch.insert(id).second) continue;
    ids.add(id);
    verdicts.add(core::to_string(verdict));
    times.add(core::format_timestamp(p->record.time(d_)));
    const auto it = max_ts.find(p->partition);
    maxes.add(it != max_ts.end() && it->second ? core::format_timestamp(*it->second) : "");
    partitions.add(p->partition);
    offsets.add(p->offset);
    payloads.add(p->payload);
  }
  for (const auto& r : tx_.exec_params(
           "INSERT INTO late_records (kind, identity, verdict, event_ts, partition_max_ts, "
           "kafka_topic, kafka_partition, kafka_offset, payload) SELECT $1, i, v, t, "
           "nullif(m, '')::timestamptz, $2, p, o, b FROM unnest($3::text[], $4::text[], "
           "$5::timestamptz[], $6::text[], $7::integer[], $8::bigint[], $9::text[]) AS u(i, v, "
           "t, m, p, o, b) ON CONFLICT DO NOTHING RETURNING kafka_partition, kafka_offset",
           d_.kind, topic_, ids.take(), verdicts.take(), times.take(), maxes.take(),
           partitions.take(), offsets.take(), payloads.take())) {
    stored.insert({r[0].as<std::int32_t>(), r[1].as<std::int64_t>()});
  }
  return stored;
}

void PgKindTables::apply_deltas(const KindDeltas& deltas) {
  for (std::size_t i = 0; i < d_.views.size(); ++i) {
    detail::apply_view(tx_, d_, d_.views[i], deltas.views()[i]);
  }
  if (!d_.aggregate) return;
  const std::string agg = "agg_" + d_.aggregate->name;
  upsert_windows(tx_, agg + "_hourly", d_, deltas.hourly());
  upsert_windows(tx_, agg + "_daily", d_, deltas.daily());
  if (d_.aggregate->item) upsert_items(tx_, agg + "_items", deltas.items());
}

void PgKindTables::prune_seen_ids(std::int64_t max_lateness_s) {
  seen_.prune(tx_, topic_, max_lateness_s);
  if (sales_) tables::prune_reused_ids(tx_, topic_, max_lateness_s);
  for (const auto& v : d_.views) detail::prune_view(tx_, v, topic_);
}

}  // namespace tables

}  // namespace millrace::aggregate
