#pragma once

// The initial snapshot (--snapshot initial): the rows the published tables
// held when the slot was created, published as op "r" changes ahead of
// everything the slot streams, so a new consumer can start from a full
// state.
//
// Exactly once, by construction:
// - the rows are read in the transaction that created the slot (its
//   snapshot), so they are exactly what committed before the slot's
//   consistent point, and the slot streams exactly what commits after it;
// - every row and the checkpoint that starts the stream are one Kafka
//   transaction: a read_committed consumer sees the whole snapshot or none
//   of it, and a feed that dies mid-snapshot leaves nothing visible. The
//   next one finds no checkpoint and takes a new snapshot from a new slot.
//
// Pure: the rows and the publisher are ports (tests/snapshot_test.cpp).

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/feed.hpp"

namespace millrace::changefeed {

// Where the rows come from: the transaction that created the slot.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // The slot's consistent point: the snapshot holds every transaction that
  // committed before it, the slot streams every one that commits after.
  virtual Lsn consistent_point() const = 0;
  // When the snapshot was taken, µs since 2000-01-01 (the rows' commit_time).
  virtual std::int64_t taken_at_pg_us() const = 0;
  // The published tables, each described as pgoutput describes it: the
  // columns it publishes, in order, flagged as key when part of the replica
  // identity. In a stable order.
  virtual std::vector<std::shared_ptr<const Relation>> tables() = 0;
  // Hands each row of `table` (text values, in the relation's column
  // order) to `on_row`.
  virtual void rows(const Relation& table, const std::function<void(Tuple&&)>& on_row) = 0;
};

// The snapshot's side of the publisher: one transaction for every row.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual void begin() = 0;
  virtual void add(const Change& change) = 0;
  // Makes every row added and `through` visible together; on a throw
  // nothing is.
  virtual void commit(const Checkpoint& through) = 0;
  // Drops what was added (after a failure; never throws).
  virtual void abort() noexcept = 0;
};

// Where the snapshot sits in the feed: as if it were one transaction that
// committed just before the consistent point. Its rows' source LSN (and so
// the LSN half of their ids) is the consistent point minus one: below every
// transaction the slot streams, whose commits are at or after the
// consistent point, so the ids sort first and never collide with a
// change's. The checkpoint's end is the consistent point itself, where the
// slot starts.
Checkpoint snapshot_checkpoint(Lsn consistent_point);

struct SnapshotResult {
  Checkpoint checkpoint;
  std::uint64_t rows = 0;
  std::size_t tables = 0;
};

// Called every `kSnapshotProgressRows` rows of a table and once when it is
// done, with the rows of that table so far.
using SnapshotProgress =
    std::function<void(const Relation& table, std::uint64_t rows, bool table_done)>;
inline constexpr std::uint64_t kSnapshotProgressRows = 100'000;

// Publishes every row of every table as an "r" change (no "before", the
// row in "after", its key as the stream would give it, xid 0, seq counting
// rows across the whole snapshot), then commits with the snapshot's
// checkpoint. Throws DecodeError for a row whose width does not match its
// table or past 2^32 - 1 rows, and what the ports throw; after a throw the
// sink has been aborted.
SnapshotResult publish_snapshot(SnapshotSource& source, SnapshotSink& sink,
                                PrimaryKeyLookup primary_key,
                                const SnapshotProgress& progress = {});

}  // namespace millrace::changefeed
