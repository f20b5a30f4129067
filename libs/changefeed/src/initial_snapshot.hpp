#pragma once

// Starting a feed with --snapshot initial (snapshot.hpp): the checks, the
// slot, the backfills, the first checkpoint.

#include "kafka_publisher.hpp"
#include "pg_backfill.hpp"
#include "pg_stream.hpp"

namespace millrace::changefeed {

// For a feed that has never published anything (no checkpoint). Refuses,
// fatally and naming each, the tables the feed's role may not read or that
// have no key, and a missing signal table or rights on it: nothing is
// created then. Otherwise drops a slot left without a checkpoint (nothing
// was published from it), creates the slot, asks for a backfill of every
// published table (once per slot and checkpoint group) and publishes the
// checkpoint at the slot's consistent point. Returns that checkpoint.
// Throws core::InfraError.
Checkpoint start_initial_snapshot(const ChangefeedConfig& config, PgStream& stream,
                                  KafkaPublisher& publisher, PgBackfillSource& backfills);

}  // namespace millrace::changefeed
