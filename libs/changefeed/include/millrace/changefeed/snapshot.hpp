#pragma once

// The initial snapshot (--snapshot initial): a feed that has never
// published anything creates its slot, asks for a backfill of every
// published table (backfill.hpp), and publishes its first checkpoint at the
// slot's consistent point. The rows then come as any backfill's do: in key
// order, in chunks, between the changes that keep streaming, each chunk one
// Kafka transaction with the progress in its checkpoint. No Kafka
// transaction or database snapshot is held longer than one chunk, a table
// of any size fits, and a feed killed mid-snapshot resumes at the next
// chunk instead of starting over.

#include <string>

#include "millrace/changefeed/feed.hpp"

namespace millrace::changefeed {

// Where the stream of a new slot starts: as if a transaction committed just
// before the slot's consistent point. Its commit LSN is the point minus one,
// below every transaction the slot streams (their commits are at or after
// it), so the skip rule never skips one; its end is the point itself.
Checkpoint snapshot_checkpoint(Lsn consistent_point);

// The reason the snapshot's backfills carry in the signal table: one
// snapshot per slot and checkpoint group, so a feed that dies before its
// first checkpoint finds the requests it made and does not ask again.
std::string snapshot_reason(const std::string& slot, const std::string& checkpoint_group);

}  // namespace millrace::changefeed
