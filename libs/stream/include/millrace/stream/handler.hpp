#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kafka/consumer.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::stream {

// One record of a batch, by its Kafka coordinates.
struct RecordRef {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const RecordRef&) const = default;
};

// A record PostgreSQL refused when written on its own (SQLSTATE class 22
// data exception, 23 integrity violation or 54 program limit), with the
// server's words.
struct Refusal {
  RecordRef record;
  std::string sqlstate;
  std::string message;
};

// What a handler buffers for one batch between handle() and write(): rows to
// store, dead letters to make durable. It belongs to its batch, not to the
// handler, because the consumer commits one batch while it accumulates the
// next, so two of them are alive at once. Dropping the state forgets the
// batch (it is replayed from the stored offsets).
class BatchState {
 public:
  virtual ~BatchState() = default;

  // Forgets what was buffered for one partition: it was revoked while the
  // batch accumulated, and its next owner consumes those records again.
  virtual void discard(std::int32_t partition) = 0;

  // For isolating records PostgreSQL refuses: the records write() would
  // store, in the order it stores them, and a new state holding only
  // positions [begin, end) of them (a copy; this state is unchanged).
  virtual std::size_t size() const = 0;
  virtual RecordRef record(std::size_t index) const = 0;
  virtual std::unique_ptr<BatchState> slice(std::size_t begin, std::size_t end) const = 0;
};

// What a service does with the records a TransactionalConsumer hands it. The
// consumer owns batching, offsets, fencing, accounting and recovery; the
// handler only decides each record's outcome and writes its own rows.
//
// Threads. A batch is filled on the consumer's loop thread and committed on
// another thread while the loop fills the next one:
//  - open_batch(), handle() and BatchState::discard() run on the loop thread;
//  - before_commit() and write() run on the commit thread, for a sealed
//    batch, at the same time as handle() fills the next batch. They may touch
//    their batch's state and handler members handle() does not touch (or
//    thread-safe ones, such as a Kafka producer);
//  - on_connect() runs on whichever thread is about to use the connection.
// At most one batch commits at a time, in order: before_commit() and write()
// of batch N+1 start after those of batch N returned, and never overlap
// on_connect(). A state is used by one thread at a time; the hand-over from
// the loop thread to the commit thread and back synchronises.
// The consumer passes back only states this handler's open_batch() created,
// so a handler may static_cast them to its own type.
//
// This is the contract every handler keeps: four functions to write
// (open_batch, handle, write, refuse) and three hooks to override where
// needed. What only some handlers need is a capability below, which a
// handler opts into by deriving from it too; the consumer looks for them
// once, as it starts.
class Handler {
 public:
  virtual ~Handler() = default;

  // Once per new PostgreSQL session, after migrations (temp tables, ...).
  virtual void on_connect(pqxx::connection& connection) { (void)connection; }

  // An empty state for a new batch.
  virtual std::unique_ptr<BatchState> open_batch() = 0;

  // Decides one record's outcome: count it in `progress.tally` (every
  // record must be counted exactly once) and buffer what write() needs in
  // `state`.
  virtual void handle(const kafka::Message& message, PartitionProgress& progress,
                      BatchState& state) = 0;

  // Before the transaction: make side effects outside PostgreSQL durable
  // (dead letters). Throws core::InfraError; a retryable one replays the batch.
  virtual void before_commit(BatchState& state) { (void)state; }

  // Inside the batch's transaction, after its offsets were fenced: write the
  // buffered rows. May move counts between outcomes in the batch's tallies
  // (e.g. Outcome::kPersisted into kDuplicate once the database knows).
  // It must work on any slice() of a state, with counts that depend only on
  // the records in that state: when PostgreSQL refuses a batch (SQLSTATE
  // class 22, 23 or 54) the consumer writes slices of it, each in a
  // savepoint, to find the records it refuses (docs/exactly-once.md,
  // "Records PostgreSQL refuses").
  virtual void write(pqxx::work& tx, Batch& batch, BatchState& state) = 0;

  // After the batch's transaction committed: side effects that must follow
  // the commit, such as publishing the files it recorded. On the commit
  // thread, before the next batch's before_commit(). Not called when the
  // commit failed or its outcome is unknown, so anything done here must also
  // be finished by a later write() if this never runs (a crash right after
  // COMMIT). Must not throw: the commit stands whatever happens here; an
  // exception is logged and ignored.
  virtual void after_commit(const Batch& batch, BatchState& state) {
    (void)batch;
    (void)state;
  }

  // PostgreSQL refused these records of `state`, each written alone. Take
  // them out of `state`, re-count each in its partition's tally as
  // Outcome::kRejected with reason "db_refused", and set them aside where an
  // operator finds them with their reason: a dead letter made durable by
  // the next before_commit(), or a row that the next write() stores. On
  // the commit thread, outside any transaction; the batch is then committed
  // again from its fence, with before_commit() first.
  virtual void refuse(Batch& batch, BatchState& state, const std::vector<Refusal>& refused) = 0;
};

// Capabilities: hooks a handler opts into by deriving from them as well as
// from Handler.

// A handler whose side effects come in units of its own (the archiver's
// files, which close on a time window) seals its batches itself.
class SealsBatches {
 public:
  virtual ~SealsBatches() = default;
  // How long from `now` the batch accumulating in `state` is sealed and
  // committed; zero or less seals it before the next record is handled.
  // batch_size and batch_ms no longer apply; nullopt leaves this batch to
  // them. `now` is the loop's steady clock, read once per poll (the loop
  // asks about three times a record, so an answer should not read a clock
  // of its own each time). Asked only while the batch holds records, on
  // the loop thread, between handle() calls.
  virtual std::optional<std::chrono::milliseconds> seal_in(
      const BatchState& state, std::chrono::steady_clock::time_point now) const = 0;
  // A poll found no record at hand while the batch in `state` holds records
  // and is not sealed yet: the consumer has read all there was for now
  // (the archiver sends what its files hold so far, so that little is left
  // for the window's end). On the loop thread, between handle() calls, as
  // often as a poll comes back empty (every few milliseconds at most while
  // a commit is in flight). Must not block.
  virtual void caught_up(BatchState& state) { (void)state; }
};

// A handler that must know how far the consumer has read every partition it
// owns, including partitions with nothing in the batch (the webhooks' read
// marks): its batches carry Batch::read_to().
class WatchesReads {
 public:
  virtual ~WatchesReads() = default;
  // On the loop thread, at most every few tens of milliseconds while every
  // record handled so far is committed (no batch accumulating, none in
  // flight): how far each owned partition was read, as Batch::read_to().
  // Must not block.
  virtual void idle(const std::map<std::int32_t, std::int64_t>& read_to) = 0;
};

// A handler that starts work beside its batch's transaction.
class BeginsWithTransaction {
 public:
  virtual ~BeginsWithTransaction() = default;
  // The batch's transaction began (PostgreSQL answered its BEGIN, so now()
  // is fixed) and its offsets are not fenced yet: start what may go on
  // beside the transaction's statements until write() needs it, such as a
  // question to another system that must be asked after the transaction's
  // start. Once per attempt at the whole batch: a batch written again
  // (after PostgreSQL refused records of it) begins again; not for the
  // slices written to find refused records. On the commit thread. Throws
  // core::InfraError; a retryable one replays the batch.
  virtual void began(BatchState& state) = 0;
};

}  // namespace millrace::stream
