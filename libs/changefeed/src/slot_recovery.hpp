#pragma once

// Replacing a lost replication slot (--on-slot-lost=backfill) without a
// silent gap. A slot is lost when PostgreSQL invalidated it (it held more
// WAL than max_slot_wal_keep_size) or when it is gone while the checkpoint
// says changes were published from it: what committed since the checkpoint
// can no longer be streamed.
//
// 1. The checkpoint is published again with slot_lost_from (where the gap
//    starts): a feed restarted from here on goes on with the recovery,
//    instead of streaming from a new slot as if nothing was missed.
// 2. A backfill of every published table is asked for, once (its reason
//    names the gap's start).
// 3. The lost slot is dropped and a new one created; a recovery resumed
//    finds the one it created, never streamed from.
// 4. One Kafka transaction publishes a gap record per table (op g: the LSN
//    range not covered, and the backfill that follows) with the checkpoint
//    at the new slot's consistent point.
// A consumer then knows which of its rows to distrust (those of the table
// it held before the gap and hears nothing of until the backfill's end),
// and the backfill brings every row back.

#include "kafka_publisher.hpp"
#include "pg_backfill.hpp"
#include "pg_stream.hpp"

namespace millrace::changefeed {

// `published`: the checkpoint read back. Returns the checkpoint to stream
// from. Throws core::InfraError.
Checkpoint recover_lost_slot(const ChangefeedConfig& config, PgStream& stream,
                             KafkaPublisher& publisher, PgBackfillSource& backfills,
                             const Checkpoint& published);

}  // namespace millrace::changefeed
