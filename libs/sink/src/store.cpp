#include "store.hpp"

#include <string_view>
#include <tuple>

#include "millrace/core/filter.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::sink::detail {

namespace {

const std::vector<std::string> kColumns = {
    "id",       "request_id", "event_type", "store_id",  "store_fqdn",        "store_ip",
    "cust_id",  "category",   "sku",        "price",     "qty",               "discount",
    "gift_wrap", "variant",   "priority_shipping", "ts", "contact_me",        "is_return",
    "kafka_topic", "kafka_partition", "kafka_offset"};

}  // namespace

EventStore::EventStore(std::string conninfo, std::string schema, std::string group,
                       std::string topic)
    : conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      group_(std::move(group)),
      topic_(std::move(topic)) {}

void EventStore::ensure_connected() {
  if (conn_ && conn_->is_open()) return;
  conn_.reset();
  auto conn = pg::connect(conninfo_, schema_, "millrace-sink");
  try {
    pqxx::nontransaction tx(*conn);
    // Rows are staged with COPY, then moved with ON CONFLICT DO NOTHING: COPY
    // alone cannot skip ids that are already stored.
    tx.exec(
        "CREATE TEMP TABLE IF NOT EXISTS millrace_staging "
        "(LIKE store_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  } catch (const std::exception&) {
    pg::rethrow_classified("prepare staging table");
  }
  conn_ = std::move(conn);
}

std::map<std::int32_t, std::optional<std::int64_t>> EventStore::claim(
    const std::vector<std::int32_t>& partitions) {
  ensure_connected();
  std::map<std::int32_t, std::optional<std::int64_t>> out;
  try {
    pqxx::work tx(*conn_);
    for (const auto p : partitions) {
      tx.exec_params(
          "INSERT INTO consumer_offsets (group_id, topic, partition) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING",
          group_, topic_, p);
      const auto row = tx.exec_params1(
          "SELECT next_offset FROM consumer_offsets "
          "WHERE group_id = $1 AND topic = $2 AND partition = $3",
          group_, topic_, p);
      out[p] = row[0].is_null() ? std::nullopt : std::optional<std::int64_t>(row[0].as<std::int64_t>());
    }
    tx.commit();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("read stored offsets");
  }
  return out;
}

CommitResult EventStore::commit(const Batch& batch, const std::vector<OffsetTransition>& plan) {
  ensure_connected();
  CommitResult result;
  try {
    pqxx::work tx(*conn_);
    // Fence first: if another member moved an offset, stop before any work.
    for (const auto& t : plan) {
      const auto& progress = batch.partitions().at(t.partition);
      const auto r = tx.exec_params(
          "UPDATE consumer_offsets SET next_offset = $1, "
          "records_consumed = records_consumed + $2, updated_at = now() "
          "WHERE group_id = $3 AND topic = $4 AND partition = $5 "
          "AND next_offset IS NOT DISTINCT FROM $6",
          t.next, static_cast<std::int64_t>(progress.consumed), group_, topic_, t.partition,
          t.expected);
      if (r.affected_rows() != 1) result.fenced.push_back(t.partition);
    }
    if (!result.fenced.empty()) {
      tx.abort();
      return result;
    }

    if (!batch.rows().empty()) {
      pqxx::stream_to copy(tx, "millrace_staging", kColumns);
      for (const auto& row : batch.rows()) {
        const auto& e = row.event;
        copy << std::make_tuple(
            e.id, e.request_id, std::string(core::to_string(e.event_type)), e.store_id,
            e.store_fqdn, e.store_ip, e.cust_id, e.category, e.sku, e.price.to_string(), e.qty,
            e.discount.to_string(), e.gift_wrap, e.variant, e.priority_shipping,
            core::format_timestamp(e.ts), e.contact_me, e.is_return, topic_, row.partition,
            row.offset);
      }
      copy.complete();
      const auto inserted = tx.exec(
          "WITH ins AS (INSERT INTO store_events SELECT * FROM millrace_staging "
          "ON CONFLICT (id) DO NOTHING RETURNING kafka_partition) "
          "SELECT kafka_partition, count(*) FROM ins GROUP BY kafka_partition");
      for (const auto& r : inserted) {
        result.inserted[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
      }
    }

    // Accounting: one multi-row upsert, summed into the lifetime totals.
    std::string values;
    const auto add = [&](std::int32_t partition, std::string_view outcome, std::string_view reason,
                         std::uint64_t n) {
      if (n == 0) return;
      if (!values.empty()) values += ',';
      values += "(" + tx.quote(group_) + "," + tx.quote(topic_) + "," + std::to_string(partition) +
                "," + tx.quote(std::string(outcome)) + "," + tx.quote(std::string(reason)) + "," +
                std::to_string(n) + ")";
    };
    for (const auto& [partition, progress] : batch.partitions()) {
      const auto it = result.inserted.find(partition);
      const std::uint64_t inserted = it == result.inserted.end() ? 0 : it->second;
      add(partition, "persisted", "", inserted);
      add(partition, "duplicate", "duplicate_id", progress.kept - inserted);
      for (std::size_t i = 0; i < progress.filtered.size(); ++i) {
        add(partition, "filtered", core::reason_code(static_cast<core::FilterReason>(i)),
            progress.filtered[i]);
      }
      for (std::size_t i = 0; i < progress.rejected.size(); ++i) {
        add(partition, "rejected", core::reason_code(static_cast<core::RejectReason>(i)),
            progress.rejected[i]);
      }
    }
    if (!values.empty()) {
      tx.exec(
          "INSERT INTO record_outcomes (group_id, topic, partition, outcome, reason, records) "
          "VALUES " + values +
          " ON CONFLICT (group_id, topic, partition, outcome, reason) "
          "DO UPDATE SET records = record_outcomes.records + EXCLUDED.records");
    }
    tx.commit();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("commit batch");
  }
  return result;
}

}  // namespace millrace::sink::detail
