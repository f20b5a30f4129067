#pragma once

// The store event's own bookkeeping tables, which predate declared kinds
// and keep their names and columns for users (migrations 0002 onwards;
// docs/views.md): late_events with the event's columns, and
// aggregator_reused_ids, the ids an event of another time reused (its
// resends are told apart by the table's key, (time, id): "resends":
// "table_key"). millrace-aggregator folds the store event through its
// declaration as every kind (kind_tables.hpp), its aggregates included
// (agg_hourly, agg_daily, agg_products and agg_categories are declared
// views that adopt their tables); these are the tables that kind has
// besides, kept by the functions below in the batch's transaction.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/window.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/store_event.hpp"
#include "tables.hpp"

namespace millrace::aggregate::tables {

// aggregator_reused_ids: events whose id an earlier event of another time
// holds in aggregator_seen_ids. Inserts these (id, event time) pairs and
// returns those that were new; the others are resends.
std::set<EventKey> insert_reused_ids(pqxx::work& tx, const std::string& topic,
                                     const std::vector<SeenId>& events);
// Forgets the reused ids by the seen ids' horizon (SeenIds::prune), by
// their event time.
void prune_reused_ids(pqxx::work& tx, const std::string& topic, std::int64_t max_lateness_s);

// late_events: each late or future event with its partition's newest event
// time. An id late_events holds already is not stored again.
Stored insert_late(pqxx::work& tx, const std::string& topic, const kinds::StoreEventFields& f,
                   const Late<kinds::Record>& late, const PartitionMax& max_ts);

}  // namespace millrace::aggregate::tables
