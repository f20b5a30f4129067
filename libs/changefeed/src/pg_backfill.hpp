#pragma once

// The PostgreSQL side of backfills (backfill.hpp): the signal table, the
// watermarks and the chunks, over one ordinary connection as the feed's
// role. That role needs SELECT on the published tables and SELECT and
// UPDATE on the signal table (`millrace changefeed publish --grant-select
// ROLE` grants both), and PostgreSQL 14 or later (logical messages in
// pgoutput).
//
// Caller contract: one thread. A failure of the connection throws
// core::InfraError (retryable) and the next call connects again; a request
// that cannot run throws BackfillRefused. A chunk is read on a thread of
// this source's own while the caller's waits (while_reading()).

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/core/task_thread.hpp"
#include "published_tables.hpp"

namespace millrace::changefeed {

// The signal table's definition (`millrace changefeed publish` runs it).
// `table` is quoted and schema-qualified.
std::string signal_table_ddl(const std::string& table);

// Whether `role` (an SQL expression: current_user, or a role's oid) has
// what backfills need on the signal table: 'ok', 'missing' (no such schema
// or table) or 'denied' (no USAGE on the schema, or not each of SELECT,
// INSERT and UPDATE on the table). It reads the aliases n (the schema) and
// c (the table) that kSignalTableJoins adds to a query, whose $1 is the
// schema's name and $2 the table's. The feed asks it of itself, the CLI of
// the roles of the feeds it finds running.
std::string signal_state_sql(const std::string& role);
extern const char* const kSignalTableJoins;

class PgBackfillSource final : public BackfillSource {
 public:
  explicit PgBackfillSource(const ChangefeedConfig& config);

  std::optional<BackfillRequest> next() override;
  bool cancel_requested(std::int64_t id) override;
  std::shared_ptr<const Relation> describe(const BackfillRequest& request) override;
  Chunk read_chunk(const BackfillRequest& request, const Relation& table,
                   const std::vector<std::size_t>& key_columns,
                   const std::optional<std::vector<std::string>>& after,
                   const std::string& mark) override;
  void record(std::int64_t id, BackfillState state, const BackfillProgress* progress,
              const std::string& error) override;

  // Why backfills of every published table cannot run, one reason each: no
  // signal table or no rights on it, a table the feed's role may not read,
  // a table without a key. Empty when they can.
  std::vector<std::string> refusals(const PrimaryKeyLookup& primary_key);

  // Every table of the publication, described as the stream describes it.
  std::vector<std::shared_ptr<const Relation>> published();
  // Asks for a backfill of every table in `tables` (schema.name) with
  // `reason`, unless one with that reason exists already; returns their ids
  // in the same order. The feed's role needs INSERT on the signal table.
  std::vector<std::int64_t> request(const std::vector<std::string>& tables,
                                    const std::string& reason, std::int64_t chunk_size);

  // True once a poll (next()) found that this role may use the signal
  // table; false before the first and after one that found it may not.
  bool serving() const { return serving_; }
  // Called on the caller's thread every second while a chunk is read, which
  // may take long (a condition that matches few rows reads far in key
  // order; a lock on the table holds it up): the feed keeps its replication
  // session alive from it. What it throws cancels the read (a query cancel)
  // and is rethrown by read_chunk() once the read has ended.
  void while_reading(std::function<void()> tick) { while_reading_ = std::move(tick); }

 private:
  pqxx::connection& conn();
  // The signal table: "ok", "missing" or "denied" (no USAGE on its schema,
  // or not every right the feed needs on it).
  std::string signal_state(pqxx::nontransaction& tx);
  std::vector<PublishedTable> tables();
  void watermark(const std::string& content);
  // The low watermark, the chunk in one snapshot, the high watermark: on
  // the reader's thread, over `c`.
  Chunk read_rows(pqxx::connection& c, const BackfillRequest& request, const Relation& table,
                  const std::vector<std::size_t>& key_columns,
                  const std::optional<std::vector<std::string>>& after, const std::string& mark);
  // Waits for `read`, calling while_reading_ and saying when it is slow.
  void wait_for(std::future<Chunk>& read, const BackfillRequest& request, const Relation& table);

  const ChangefeedConfig& config_;
  std::string table_;  // the signal table, quoted
  std::unique_ptr<pqxx::connection> conn_;
  std::function<void()> while_reading_;
  // Declared after conn_: its thread is joined before the connection goes.
  std::unique_ptr<core::TaskThread<Chunk>> reader_;
  std::map<Oid, std::string> row_filters_;
  std::string role_;  // the feed's role, as signal_state() last read it
  bool serving_ = false;
  bool told_missing_ = false;
  bool told_denied_ = false;
};

}  // namespace millrace::changefeed
