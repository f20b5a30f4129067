#pragma once

// Turns the decoded pgoutput stream into whole committed transactions of
// Changes: the unit the feed publishes atomically (one Kafka transaction per
// PostgreSQL transaction). Pure: the only outside knowledge, a table's
// primary key when pgoutput does not give it, comes through PrimaryKeys.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "millrace/changefeed/change.hpp"
#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed {

struct Transaction {
  std::uint32_t xid = 0;
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;  // the position to confirm once the transaction is published
  std::int64_t commit_time_pg_us = 0;
  std::vector<Change> changes;  // in the order PostgreSQL applied them
  // Its logical messages (pg_logical_emit_message with transactional =
  // true; sent when the stream asks for messages), in order. A backfill's
  // watermarks are such transactions, with no changes.
  std::vector<LogicalMessage> messages;
};

// The names of a table's primary key columns, in key order; empty if it has
// none. Asked when a relation's replica identity is FULL (pgoutput then
// flags every column as "key") or NOTHING (it flags none). The production
// implementation asks pg_index over an ordinary connection.
using PrimaryKeyLookup = std::function<std::vector<std::string>(const Relation&)>;

class Assembler {
 public:
  explicit Assembler(PrimaryKeyLookup primary_key) : primary_key_(std::move(primary_key)) {}

  // Feeds one message; `wal_position` is the XLogData's start (0 when
  // unknown). Returns the transaction when `message` is its Commit. Throws
  // DecodeError when the stream breaks the protocol (a change outside a
  // transaction, a Commit not matching its Begin, an unknown relation).
  // Taken by value: a change's rows are moved out of it, not copied.
  std::optional<Transaction> feed(Message message, Lsn wal_position = 0);

  // True between a Begin and its Commit.
  bool in_transaction() const { return open_.has_value(); }

  // The key column indexes of a relation, as the changes will carry them.
  // Asks PrimaryKeyLookup each time it needs to; the changes fed are given
  // the relation's key worked out once per Relation message.
  std::vector<std::size_t> key_columns(const Relation& relation);

 private:
  Change& add(Op op, Oid relation, Lsn wal_position);

  PrimaryKeyLookup primary_key_;
  RelationCache relations_;
  // Per relation, as last described: worked out at its first change (a
  // lookup may ask the catalog), forgotten when it is described anew.
  std::map<Oid, std::vector<std::size_t>> keys_;
  std::optional<Transaction> open_;
};

}  // namespace millrace::changefeed
