#pragma once

// The change feed's loop: reads the replication stream, assembles committed
// transactions, publishes them in batches, and confirms to PostgreSQL only
// what is published. Exactly once rests on three rules kept here:
// 1. a batch of whole transactions and the checkpoint of its last one are
//    published atomically (PublishPort: one Kafka transaction);
// 2. the slot's flush position is confirmed only up to the end of a
//    published (or already published) transaction, or, when nothing is in
//    flight, up to where the server says it has sent everything;
// 3. after a restart, transactions at or before the checkpoint are skipped:
//    PostgreSQL resends from its confirmed position, which may lag the
//    checkpoint by the last batch (a crash between publish and confirm).
//
// Pure: the stream and the publisher are ports, so the loop is unit-tested
// with fakes (tests/feed_test.cpp).

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/lsn.hpp"
#include "millrace/core/task_thread.hpp"

namespace millrace::changefeed {

class Backfiller;

// How far a backfill (backfill.hpp) has published.
struct BackfillProgress {
  std::int64_t id = 0;  // its row in the signal table
  // The key of the last row read (its key columns' text, in key order); the
  // next chunk starts after it. None: from the table's start.
  std::optional<std::vector<std::string>> after;
  std::uint64_t chunks = 0;
  std::uint64_t rows = 0;
};

// The last published transaction, and the backfill state published with it.
struct Checkpoint {
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  std::optional<BackfillProgress> backfill;  // the one running
  std::int64_t backfill_finished = 0;        // the id of the last one that ended
  // Set while a lost slot is replaced (--on-slot-lost=backfill): the last
  // position published from the old one, where the gap starts.
  Lsn slot_lost_from = 0;
};
inline Checkpoint checkpoint_at(Lsn commit_lsn, Lsn end_lsn) {
  Checkpoint c;
  c.commit_lsn = commit_lsn;
  c.end_lsn = end_lsn;
  return c;
}
// {"commit_lsn":"16/B374D848","end_lsn":"16/B374D880"}, with
// "backfill":{"id":3,"after":["41"],"chunks":5,"rows":50000} and
// "backfill_finished":2 and "slot_lost_from":"16/B374D880" when there are.
std::string encode_checkpoint(const Checkpoint& checkpoint);
std::optional<Checkpoint> parse_checkpoint(std::string_view text);

// The CopyBoth stream of a started replication connection.
class ReplicationPort {
 public:
  virtual ~ReplicationPort() = default;
  // One CopyData message, or nullopt when none came within `timeout`. With
  // a zero timeout: what has arrived already, without waiting. The view
  // holds until the next read.
  virtual std::optional<std::string_view> read(std::chrono::milliseconds timeout) = 0;
  virtual void write(std::string_view copy_data) = 0;
};

class PublishPort {
 public:
  virtual ~PublishPort() = default;
  // Publishes every change of `batch` and `through` (the checkpoint of its
  // last transaction) atomically. Throws core::InfraError; on a throw
  // nothing of the batch is visible.
  virtual void publish(const std::vector<Transaction>& batch, const Checkpoint& through) = 0;
};

struct FeedConfig {
  // A batch is published once it holds this many changes or this many
  // bytes of row values, or once its first transaction has waited `linger`,
  // or as soon as the stream has nothing more at hand: a pending batch never
  // waits for data that has not come, so a lone commit is published at
  // once, and a busy stream, whose messages are already waiting, still
  // fills large batches. While one batch publishes the next grows until it
  // is full or that publish returns; a Kafka transaction costs the broker
  // as much CPU as thousands of records (docs/benchmarks.md, issue 40), so
  // a backlog waits longer (`catch_up_to`). A PostgreSQL
  // transaction is never split: one larger than either bound is a batch of
  // its own.
  std::size_t max_batch_changes = 50000;
  std::size_t max_batch_bytes = 32 * 1024 * 1024;
  std::chrono::milliseconds linger{50};
  // The server's WAL position when the session began: a transaction that
  // ends before it was committed before the feed started, and is a backlog.
  // The stream's gaps then close no batch (the feed reads faster than the
  // server's WAL sender decodes, so the stream pauses between every few
  // hundred changes), nor does `linger`: a backlog's batch is published once
  // it is full or its first transaction has waited `catch_up_linger`. Closed
  // at every gap, a backlog went out as a Kafka transaction of about 500
  // changes each, whose fixed cost (the checkpoint's offset commit, the
  // markers, the broker's transaction log) took a third of the feed's CPU
  // at a million (docs/benchmarks.md, issue 81). 0: no backlog.
  Lsn catch_up_to = 0;
  std::chrono::milliseconds catch_up_linger{500};
  // A status update at least this often, so the server (wal_sender_timeout)
  // knows the feed is alive even when nothing moves.
  std::chrono::milliseconds status_interval{10000};
  // Publish a batch on a thread of its own while the next is read and
  // decoded: at most one publish in flight, in order, and nothing of a
  // batch is confirmed to the server before its publish returned. Off, a
  // publish runs within step() (the unit tests' default).
  bool pipelined = false;
};

struct FeedStats {
  std::uint64_t transactions = 0;           // read from the stream
  std::uint64_t skipped_transactions = 0;   // at or before the checkpoint
  std::uint64_t changes = 0;                // published
  std::uint64_t batches = 0;                // published
  Lsn confirmed = 0;                        // last flush position sent
  Lsn server_wal_end = 0;                   // the server's WAL end, last heard
  std::int64_t last_commit_time_pg_us = 0;  // of the last published transaction
};

class Feed {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `published`: the checkpoint read back at start.
  Feed(ReplicationPort& stream, PublishPort& publisher, PrimaryKeyLookup primary_key,
       Checkpoint published, FeedConfig config = {}, Clock clock = &std::chrono::steady_clock::now);

  // Waits for a publish still in flight (its outcome is dropped).
  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Handles what arrives within `timeout` (at most one message), then
  // publishes and confirms whatever is due. Throws DecodeError when the
  // stream breaks the protocol, and what the ports throw (a pipelined
  // publish's failure at the step that finds it). Returns the clock's
  // reading of the step, which its caller may use for its own pace.
  std::chrono::steady_clock::time_point step(std::chrono::milliseconds timeout);
  // Publishes and confirms what is pending (before a clean stop).
  void flush();
  // Tells the server the feed is there (a standby status update with what
  // is confirmed so far) while a step is held up by other work: PostgreSQL
  // ends a replication session that says nothing for wal_sender_timeout.
  void keep_alive() { send_status(true, clock_()); }

  // Runs backfills between the stream's transactions (backfill.hpp): its
  // watermarks are not published, its chunks are, each in its high
  // watermark's place, and its progress goes into every checkpoint.
  // `backfill` must outlive the feed; resume() it with the checkpoint first.
  void set_backfill(Backfiller* backfill) { backfill_ = backfill; }

  const FeedStats& stats() const { return stats_; }
  const Checkpoint& published() const { return published_; }

 private:
  void handle(std::string_view copy_data);
  void queue(Transaction&& tx);
  void publish_pending();
  // Takes in a pipelined publish's outcome: with `wait`, once it returns;
  // otherwise only if it has. Rethrows its failure.
  void collect(bool wait);
  // The batch in publishing_ is published: it counts, and may be confirmed.
  void count_published();
  // Nothing read and unpublished: no batch pending or in flight.
  bool idle() const { return pending_.empty() && !in_flight_.valid(); }
  // `now`: the clock as the step read it (once a step: a clock reading per
  // message showed in profiles of the feed catching up).
  void send_status(bool force, std::chrono::steady_clock::time_point now);

  ReplicationPort& stream_;
  PublishPort& publisher_;
  Assembler assembler_;
  Checkpoint published_;
  FeedConfig config_;
  Clock clock_;

  std::vector<Transaction> pending_;
  std::size_t pending_changes_ = 0;
  std::size_t pending_bytes_ = 0;
  // The batch a pipelined publish holds, and its checkpoint; not touched
  // while in_flight_ runs.
  std::vector<Transaction> publishing_;
  std::size_t publishing_changes_ = 0;
  Checkpoint publishing_through_{};
  std::future<void> in_flight_;
  std::chrono::steady_clock::time_point pending_since_{};
  // The pending batch's last transaction is of the backlog (catch_up_to).
  bool pending_backlog_ = false;
  // The backfill's chunks in the pending batch (Backfiller::tick).
  std::size_t chunks_pending_ = 0;
  // How far the slot may be confirmed now.
  Lsn confirmable_ = 0;
  bool reply_requested_ = false;
  std::chrono::steady_clock::time_point last_status_{};
  FeedStats stats_;
  Backfiller* backfill_ = nullptr;
  // Runs the publishes when pipelined, made at the first; last, so it ends
  // first.
  std::unique_ptr<core::TaskThread<void>> publishing_thread_;
};

}  // namespace millrace::changefeed
