#pragma once

// The identities every kind's aggregator has folded, in one table,
// aggregator_seen_ids (migrations 0016 and 0022), written one way: COPYed
// in while none is held already, inserted with their conflicts resolved
// when one is. The store event keeps its ids there under its topic's
// number; a declared kind, under the number of the name "kind:<kind>"
// (aggregator_topics; no Kafka topic name holds a ':'), since its identity
// is a record whichever topic brings it.
//
// A row's key is 128 bits, a uuid, whatever the identity's form:
//
//   - an identity that is a uuid in canonical lower-case text (the store
//     event's id; a declared kind's uuid field, which the codec keeps
//     lower-case) is that uuid, so the store event's rows and a uuid kind's
//     are the ids themselves;
//   - any other text is the first 128 bits of its SHA-256.
//
// A hash stores no text to check on a collision, and need not. By chance,
// two of n identities share a key with odds of about n^2 / 2^129: 10^-21
// for the 10^9 identities of a long horizon, far below a disk's silent
// corruption. On purpose, whoever can make 2^64 hashes may make two
// identities of their own that share a key, and so have the second counted
// as a resend of the first: their records, not anyone else's, since
// matching a key they did not choose takes 2^128. Keeping the text beside
// the hash would cost every row its bytes and every held key a comparison,
// which is what made aggregator_seen_records (text, timestamptz, INSERT ...
// ON CONFLICT per record) cost PostgreSQL most of a declared kind's
// aggregation (docs/benchmarks.md, issue 80).

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "millrace/core/timestamp.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::aggregate::tables {

// An identity folded once (the store event's id, a declared kind's
// identity), the start of its hour (for pruning) and its exact time.
struct SeenId {
  const std::string* id;   // the record's, alive while the batch is written
  core::TimestampUs hour;  // the start of the record's hour
  core::TimestampUs event_ts;
};

// The identities PostgreSQL held already, each with the event time it
// holds for it when it keeps one (none for an id recorded before migration
// 0013).
using HeldIds = std::unordered_map<std::string, std::optional<core::TimestampUs>>;

// Whether `identity` is a uuid in canonical lower-case text: its own key.
bool is_lower_uuid(std::string_view identity);
// The key aggregator_seen_ids holds `identity` under, as a uuid's text.
std::string seen_key(std::string_view identity);

// One aggregator's identities in aggregator_seen_ids: those of its topic
// (the store event) or of its kind (a declared kind). One per aggregator,
// used from its commit thread.
class SeenIds {
 public:
  // `scope`: the topic's name, or "kind:" and the kind's. `uuids`: every
  // identity is a canonical lower-case uuid, by its codec's contract (the
  // store event's id, a kind's uuid identity), so none is looked at; else
  // each is keyed by seen_key().
  SeenIds(std::string scope, bool uuids) : scope_(std::move(scope)), uuids_(uuids) {}

  // Looks up the scope's number in aggregator_topics, adding it the first
  // time; `connection` must have no transaction open.
  void connect(pqxx::connection& connection);

  // Records the identities (each once); returns those held already, with
  // the time held for each.
  HeldIds record(pqxx::work& tx, const std::vector<SeenId>& ids);
  // Those of `identities` held already.
  std::unordered_set<std::string> held(pqxx::work& tx, const std::vector<std::string>& identities);
  // Forgets identities older than every partition of `topic`'s horizon
  // (max_lateness_s), plus an hour: an identity is kept by the start of its
  // event's hour, so up to an hour longer than the horizon, never shorter.
  void prune(pqxx::work& tx, const std::string& topic, std::int64_t max_lateness_s);

 private:
  std::string scope_;
  bool uuids_;
  std::int32_t number_ = 0;  // set by connect(), which never overlaps a write
  pg::OptimisticCopy copy_;  // whether the last batch met held ids
};

// The number aggregator_topics gives `scope`, given the first time it is
// asked for; committed in transactions of its own, so `connection` must
// have none open.
std::int32_t topic_number(pqxx::connection& connection, const std::string& scope);

}  // namespace millrace::aggregate::tables
