#pragma once

// Backfills: the rows of one published table, read in key order in chunks
// while the feed keeps streaming, and published as op "r" changes between
// the stream's transactions, so that a consumer applying every record in
// order ends with the table's current state. The DBLog watermark algorithm,
// made exact with each chunk's own snapshot.
//
// A request is a row of the signal table (`millrace changefeed backfill`
// inserts one; so may any client). One chunk:
// 1. a low watermark: a transaction of its own holding only a logical
//    message (pg_logical_emit_message, transactional), so it comes through
//    the stream at its commit's place;
// 2. up to chunk_size rows after the last key, in key order, read in one
//    REPEATABLE READ transaction that also reads its own snapshot
//    (pg_current_snapshot());
// 3. a high watermark, like the low one.
// The feed keeps streaming meanwhile. Between the watermarks it notes which
// keys of the table each transaction changed. At the high watermark the
// chunk's rows are queued as one transaction in the stream's place, except
// a row whose key was changed by a transaction the chunk's snapshot did not
// see: the stream already carried a newer state of it. Why that is exact:
// - a transaction the snapshot saw had flushed its commit before the
//   snapshot was taken, so before the high watermark: it is in the stream
//   ahead of the chunk, and the chunk's row already holds its effect;
// - one it did not see and that commits after the high watermark comes
//   after the chunk, as it should;
// - one it did not see that committed between the watermarks is the case
//   above: its keys are dropped from the chunk (all of them, for a
//   truncate);
// - one it did not see that committed before the low watermark (its commit
//   flushed with the watermark's, its backend not yet done when the
//   snapshot was taken; common under load) is the same case: the feed
//   remembers the keys recent transactions changed, and drops those. One
//   too large to remember in full makes the chunk be read again.
//
// The progress (the last key read, chunks, rows) goes into the feed's
// checkpoint with the records (feed.hpp), so a feed killed mid-backfill
// resumes at the next chunk. No snapshot or Kafka transaction is held
// longer than a chunk.
//
// Pure: PostgreSQL is a port (BackfillSource); tests/backfill_test.cpp.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/feed.hpp"
#include "millrace/pg/xid_snapshot.hpp"

namespace millrace::changefeed {

// The prefix of the watermarks' logical messages.
inline constexpr const char* kBackfillMessagePrefix = "millrace.backfill";

// A request, as the signal table holds it.
struct BackfillRequest {
  std::int64_t id = 0;
  std::string table;  // as asked: "schema.name", or a name the publication holds once
  std::string where;  // a condition on the table's rows (SQL), or empty
  std::uint32_t chunk_size = 10000;
  // Who its records are for: empty for every consumer, "webhooks:<id>" for
  // one webhook endpoint (`millrace webhooks add --backfill`).
  std::string audience;
};

enum class BackfillState { kRunning, kDone, kCancelled, kFailed };
const char* to_string(BackfillState state);

// A request that cannot run (its table is not published or has no key, its
// condition is not valid SQL): it fails; the feed goes on.
class BackfillRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when a table's rows can be read in the order of the key its changes
// carry: its replica identity's columns (default or index), else its
// primary key. A table without either cannot be backfilled.
bool keyed(const Relation& table, const PrimaryKeyLookup& primary_key);

using pg::XidSnapshot;

struct Chunk {
  std::vector<Tuple> rows;  // in key order, in the relation's column order
  XidSnapshot snapshot;
  std::int64_t read_at_pg_us = 0;  // µs since 2000-01-01: the rows' commit_time
};

// PostgreSQL's side. Throws core::InfraError when the database is away
// (retryable) and BackfillRefused for a request that cannot run.
class BackfillSource {
 public:
  virtual ~BackfillSource() = default;
  // The request to run next: the lowest id still pending or running.
  virtual std::optional<BackfillRequest> next() = 0;
  // True once the request has been asked to stop.
  virtual bool cancel_requested(std::int64_t id) = 0;
  // The request's table as the stream describes it (the publication's
  // columns; key columns flagged as pgoutput flags them).
  virtual std::shared_ptr<const Relation> describe(const BackfillRequest& request) = 0;
  // Commits the low watermark (a logical message `mark` + "/low"), reads
  // up to request.chunk_size rows after `after` (from the start without
  // one) that match the request's condition and the publication's row
  // filter, in the order of `key_columns`, then commits the high watermark
  // (`mark` + "/high").
  virtual Chunk read_chunk(const BackfillRequest& request, const Relation& table,
                           const std::vector<std::size_t>& key_columns,
                           const std::optional<std::vector<std::string>>& after,
                           const std::string& mark) = 0;
  // Writes the request's state, and its progress when given, to its row;
  // `error` for kFailed.
  virtual void record(std::int64_t id, BackfillState state, const BackfillProgress* progress,
                      const std::string& error) = 0;
};

// What a stream transaction is to the backfill.
struct BackfillOutcome {
  bool watermark = false;            // a watermark: not a change to publish
  std::optional<Transaction> chunk;  // the chunk's rows, to queue in its place
};

struct BackfillStats {
  std::uint64_t rows = 0;     // read and handed to the feed in chunks
  std::uint64_t rereads = 0;  // chunks read again (see above)
  // Rows left out of their chunk: a transaction the chunk's snapshot did
  // not see changed them in its window.
  std::uint64_t superseded = 0;
};

struct BackfillConfig {
  // How often the signal table is asked for a request while none runs.
  std::chrono::milliseconds poll{1000};
  // The recent transactions that touched the table, remembered for the
  // check against each chunk's snapshot: at most this many, with at most
  // this many keys in all, and this many keys each (one with more is
  // remembered as too large: a chunk its snapshot did not see it in is read
  // again).
  std::size_t recent_transactions = 4096;
  std::size_t recent_keys = 100'000;
  std::size_t keys_per_transaction = 1000;
};

class Backfiller {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `session`: unique to this feed session, in every watermark, so those of
  // an earlier session (replayed after a restart) are ignored.
  Backfiller(BackfillSource& source, PrimaryKeyLookup primary_key, std::string session,
             BackfillConfig config = {}, Clock clock = &std::chrono::steady_clock::now);

  // At the session's start: what the checkpoint read back says.
  void resume(const Checkpoint& published);

  // Between stream messages: asks for a request when due, starts the next
  // chunk when none is out. May block on PostgreSQL for a chunk's read.
  // `chunks_waiting`: the chunks read that wait behind the batch being
  // published. With kChunksWaiting of them the next is not read, so that a
  // change committed during a backfill waits behind four chunks at most
  // (those, and as many in the batch publishing), not behind as many as a
  // batch may hold (the feed's max_batch_changes, 50,000 changes). Two,
  // not one: one chunk a Kafka transaction cost a quarter of a backfill's
  // speed (docs/benchmarks.md).
  void tick(std::size_t chunks_waiting = 0);
  static constexpr std::size_t kChunksWaiting = 2;

  // Every transaction the stream delivers, before the feed queues it.
  BackfillOutcome on_transaction(const Transaction& tx);

  // The backfill state as of the last transaction handed out, for the
  // checkpoint of a batch that ends there.
  const std::optional<BackfillProgress>& progress() const { return progress_; }
  std::int64_t finished() const { return finished_; }

  // A batch was published with `through`: the signal table learns how far.
  void published(const Checkpoint& through);

  // The request running, if any (for metrics).
  std::optional<std::int64_t> running() const;
  const BackfillStats& stats() const { return stats_; }

 private:
  enum class Phase { kIdle, kReady, kAwaitLow, kWindow, kFinishing };
  void start(const BackfillRequest& request, std::optional<BackfillProgress> resumed);
  void fail(const std::string& why);
  void end(BackfillState state);
  std::optional<Transaction> close_chunk(const Transaction& high);
  void note(const Transaction& tx);
  std::vector<std::string> key_of(const Change& change, const Tuple& row) const;
  bool touches(const Change& change) const;

  BackfillSource& source_;
  PrimaryKeyLookup primary_key_;
  std::string session_;
  BackfillConfig config_;
  Clock clock_;

  Phase phase_ = Phase::kIdle;
  std::chrono::steady_clock::time_point next_poll_{};
  std::optional<BackfillRequest> request_;
  std::shared_ptr<const Relation> table_;
  std::vector<std::size_t> key_columns_;  // of table_, in key order
  std::optional<BackfillProgress> progress_;
  std::int64_t finished_ = 0;
  BackfillState finished_state_ = BackfillState::kDone;
  // The finished request whose end the signal table has not been told.
  std::optional<std::int64_t> unrecorded_end_;
  bool end_published_ = false;  // ...and a checkpoint with its end is published
  std::optional<BackfillProgress> ended_progress_;
  // The running request's progress as last published, and the chunks the
  // signal table was last told of.
  BackfillProgress published_progress_;
  std::uint64_t recorded_chunks_ = 0;
  std::optional<Checkpoint> resume_from_;
  std::uint64_t chunk_no_ = 0;
  std::string mark_;
  std::optional<Chunk> chunk_;
  // What one transaction did to the table.
  struct Touch {
    std::uint32_t xid = 0;
    std::vector<std::vector<std::string>> keys;  // the rows it changed
    bool truncate = false;                       // it emptied the table
    bool overflow = false;                       // more rows than config_.keys_per_transaction
  };
  void remember(Touch&& touch);
  // The transactions that touched the table, newest last: before the
  // current chunk's low watermark, and between its watermarks.
  std::deque<Touch> recent_;
  std::size_t recent_keys_ = 0;
  std::vector<Touch> window_;
  // The newest xid dropped from recent_: a snapshot whose xmin is past it
  // saw every dropped transaction.
  std::optional<std::uint32_t> forgotten_newest_;
  BackfillStats stats_;
};

}  // namespace millrace::changefeed
