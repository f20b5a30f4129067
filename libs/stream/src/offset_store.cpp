#include "offset_store.hpp"

#include "millrace/pg/database.hpp"

namespace millrace::stream::detail {

OffsetStore::OffsetStore(std::string conninfo, std::string schema, std::string group,
                         std::string topic, std::string application_name, Handler& handler)
    : conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      group_(std::move(group)),
      topic_(std::move(topic)),
      application_name_(std::move(application_name)),
      handler_(handler) {}

void OffsetStore::ensure_connected() {
  if (conn_ && conn_->is_open()) return;
  conn_.reset();
  auto conn = pg::connect(conninfo_, schema_, application_name_);
  try {
    handler_.on_connect(*conn);
  } catch (const std::exception&) {
    pg::rethrow_classified("prepare session");
  }
  conn_ = std::move(conn);
}

std::map<std::int32_t, std::optional<std::int64_t>> OffsetStore::claim(
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
      out[p] = row[0].is_null() ? std::nullopt
                                : std::optional<std::int64_t>(row[0].as<std::int64_t>());
    }
    tx.commit();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("read stored offsets");
  }
  return out;
}

std::vector<std::int32_t> OffsetStore::commit(Batch& batch, BatchState& state,
                                              const std::vector<OffsetTransition>& plan) {
  ensure_connected();
  std::vector<std::int32_t> fenced;
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
      if (r.affected_rows() != 1) fenced.push_back(t.partition);
    }
    if (!fenced.empty()) {
      tx.abort();
      return fenced;
    }

    handler_.write(tx, batch, state);

    // Accounting: one multi-row upsert, summed into the lifetime totals.
    std::string values;
    for (const auto& [partition, progress] : batch.partitions()) {
      for (const auto& [key, n] : progress.tally.counts()) {
        if (!values.empty()) values += ',';
        values += "(" + tx.quote(group_) + "," + tx.quote(topic_) + "," +
                  std::to_string(partition) + "," + tx.quote(std::string(key.first)) + "," +
                  tx.quote(std::string(key.second)) + "," + std::to_string(n) + ")";
      }
    }
    if (!values.empty()) {
      tx.exec(
          "INSERT INTO record_outcomes (group_id, topic, partition, outcome, reason, records) "
          "VALUES " +
          values +
          " ON CONFLICT (group_id, topic, partition, outcome, reason) "
          "DO UPDATE SET records = record_outcomes.records + EXCLUDED.records");
    }
    tx.commit();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("commit batch");
  }
  return fenced;
}

}  // namespace millrace::stream::detail
