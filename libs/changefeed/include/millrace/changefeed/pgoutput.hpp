#pragma once

// Decoding of the messages PostgreSQL's built-in `pgoutput` plugin emits, at
// protocol version 1 without streaming (START_REPLICATION ... LOGICAL
// (proto_version '1', publication_names '...')). Each decoded message is one
// of the structs below; the byte layout is written beside each one
// (Int8/16/32/64 big-endian, String NUL-terminated). This is the layout of
// PostgreSQL's "Logical Replication Message Formats" (protocol docs, 55.9
// in PostgreSQL 15); the tests build every message byte by byte and also
// decode what a real server emits.
//
// Pure: no I/O. Decoding is stateless; RelationCache keeps the relation
// descriptions a stream has announced, which Insert/Update/Delete refer to.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "millrace/changefeed/lsn.hpp"

namespace millrace::changefeed {

// A message that is truncated, of an unknown type, or otherwise not what the
// protocol allows. The stream cannot be trusted past it: fatal for a reader.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Oid = std::uint32_t;

// 'B' | Int64 final LSN of the transaction | Int64 commit time (µs since
// 2000-01-01) | Int32 xid
struct Begin {
  Lsn final_lsn = 0;
  std::int64_t commit_time_pg_us = 0;
  std::uint32_t xid = 0;
};

// 'C' | Int8 flags (0) | Int64 commit LSN | Int64 end LSN of the transaction |
// Int64 commit time (µs since 2000-01-01)
struct Commit {
  Lsn commit_lsn = 0;
  Lsn end_lsn = 0;
  std::int64_t commit_time_pg_us = 0;
};

// 'O' | Int64 commit LSN on the origin | String origin name
struct Origin {
  Lsn origin_lsn = 0;
  std::string name;
};

// Per column of a Relation: Int8 flags (1: part of the replica identity key)
// | String name | Int32 type OID | Int32 type modifier
struct Column {
  std::string name;
  Oid type_oid = 0;
  std::int32_t type_modifier = -1;
  bool key = false;
};

// 'R' | Int32 relation OID | String namespace ("" for pg_catalog) | String
// name | Int8 replica identity (relreplident: 'd' default, 'n' nothing, 'f'
// full, 'i' index) | Int16 column count | Column...
// Sent before the first change of a relation in a session, and again
// whenever its definition changed (a column added mid-stream).
struct Relation {
  Oid oid = 0;
  std::string schema;
  std::string name;
  char replica_identity = 'd';
  std::vector<Column> columns;
};

// 'Y' | Int32 type OID | String namespace | String name (a non-built-in type
// a later Relation refers to)
struct Type {
  Oid oid = 0;
  std::string schema;
  std::string name;
};

// One column's value in a TupleData. Each starts with a Byte1 kind:
// 'n' null; 'u' unchanged TOASTed value (not sent; the old value stands);
// 't' text, then Int32 length and that many bytes; 'b' binary, the same.
struct Value {
  enum class Kind : char { kNull = 'n', kUnchanged = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string data;  // empty unless kText or kBinary
};
// TupleData: Int16 column count | Value...
using Tuple = std::vector<Value>;

// 'I' | Int32 relation OID | 'N' | TupleData (the new row)
struct Insert {
  Oid relation = 0;
  Tuple new_tuple;
};

// 'U' | Int32 relation OID | ['K' TupleData (old key) | 'O' TupleData (old
// row, replica identity full)] | 'N' TupleData (new row). The old part is
// absent when the key did not change and the identity is not full.
struct Update {
  Oid relation = 0;
  std::optional<Tuple> old_key;
  std::optional<Tuple> old_tuple;
  Tuple new_tuple;
};

// 'D' | Int32 relation OID | 'K' TupleData (old key) or 'O' TupleData (old
// row, replica identity full)
struct Delete {
  Oid relation = 0;
  std::optional<Tuple> old_key;
  std::optional<Tuple> old_tuple;
};

// 'T' | Int32 relation count | Int8 options (1 CASCADE, 2 RESTART IDENTITY)
// | Int32 relation OID...
struct Truncate {
  std::vector<Oid> relations;
  bool cascade = false;
  bool restart_identity = false;
};

// 'M' | Int8 flags (1: transactional) | Int64 LSN | String prefix | Int32
// length | Byte[length] content (pg_logical_emit_message; only sent when the
// `messages` option is on)
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn = 0;
  std::string prefix;
  std::string content;
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete,
                             Truncate, LogicalMessage>;

// Decodes one pgoutput message (the payload of one XLogData, or one `data`
// row of pg_logical_slot_peek_binary_changes). Throws DecodeError.
Message decode(std::string_view bytes);

// The relations announced so far in one replication session, by OID. A
// change refers to its relation by OID only; PostgreSQL sends the Relation
// first, so a change for an unknown OID means a broken stream (DecodeError).
// A definition stays alive as long as a change made under it holds it.
class RelationCache {
 public:
  // Replaces any earlier definition (columns may have been added).
  void put(Relation relation);
  const Relation& at(Oid oid) const { return *shared(oid); }
  std::shared_ptr<const Relation> shared(Oid oid) const;
  bool contains(Oid oid) const { return relations_.count(oid) != 0; }

 private:
  std::map<Oid, std::shared_ptr<const Relation>> relations_;
};

}  // namespace millrace::changefeed
