#pragma once

// The webhooks consumer's rows for one batch, in one statement: a delivery
// per change and matching endpoint (webhook_deliveries), the group's read
// marks (webhook_read_marks, read_marks.hpp), and the workers' wake-up
// (wakeup.hpp). Each was a round trip of its own in the batch's
// transaction, which every change waits for twice (its own batch, and the
// one in flight when it arrives).

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::webhooks::detail {

struct ChangeFacts;

// One partition's mark: the last change id enqueued from it in this
// transaction (empty: none), and whether it was read to its end.
struct Mark {
  std::int32_t partition = 0;
  std::string last_id;
  bool at_end = false;
  bool operator==(const Mark&) const = default;
};

// What to write: either part may be empty (a batch with no change, the
// marker thread's marks alone; a slice written to find refused rows, its
// deliveries alone).
struct BatchRows {
  std::vector<const ChangeFacts*> changes;  // in record order; each id once
  // Per change: the endpoints it goes to (routing.hpp).
  std::vector<std::vector<std::int64_t>> endpoints;
  // Changes each endpoint's filters left out, by (endpoint, partition).
  std::map<std::pair<std::int64_t, std::int32_t>, std::int64_t> filtered;
  std::vector<Mark> marks;
  // The wake-up goes when a mark is at its end, or, with this set, when a
  // delivery was enqueued.
  bool wake_on_enqueue = false;
  // Endpoints the batch's transaction holds to send to itself (direct.hpp),
  // each with how many pending deliveries it may take over (its room).
  // Their deliveries are not inserted here but returned (Enqueued::direct),
  // unless the endpoint has, in this statement's snapshot, a pending
  // delivery already attempted or more pending than its room (then they
  // join its queue as any other's); written after the sends. Its pending
  // deliveries are returned too (RowsWritten::adopted), to go first.
  std::map<std::int64_t, std::int64_t> direct;
};

// A delivery to an endpoint held for sending from the batch (BatchRows::direct).
struct DirectDelivery {
  std::int64_t endpoint = 0;
  // The marks, with this batch's own, release it now (read_marks.hpp); in
  // key order, always.
  bool go = false;
  bool operator==(const DirectDelivery&) const = default;
};

// A pending delivery of an endpoint held for sending from the batch, never
// attempted (a delivery an earlier batch enqueued, held back by the marks
// or queued while a worker held the endpoint): the batch takes it over and
// sends it before its own, in the endpoint's queue order.
struct Adopted {
  std::int64_t endpoint = 0;
  std::int64_t id = 0;  // its row in webhook_deliveries
  std::string change_id;
  std::string body;
  double committed_s = 0;  // the change's commit, seconds since the epoch
  // The marks, with this batch's own, release it now, judged at its
  // enqueueing as a claim judges it; in key order, always.
  bool go = false;
};

struct Enqueued {
  std::int64_t matched = 0;   // endpoints that took the change (still registered)
  std::int64_t enqueued = 0;  // deliveries new now, direct ones included (fewer: enqueued before)
  std::vector<DirectDelivery> direct;  // not inserted: for the sends, in endpoint order
};

struct RowsWritten {
  std::vector<Enqueued> changes;  // one per BatchRows::changes, in order
  bool woke = false;              // the statement sent the wake-up
  bool at_end = false;            // a mark was at its partition's end
  std::string now;                // the transaction's start, PostgreSQL's text
  // With deliveries held for sending (BatchRows::direct), the marks are not
  // written by the statement but left for write_marks() after the sends.
  std::vector<Mark> marks_later;
  // The held endpoints' pending deliveries, by endpoint, each endpoint's in
  // its queue order (change id in commit order, row id in key order).
  std::vector<Adopted> adopted;
};

// The SQL condition under which endpoint `e` (webhook_endpoints) may have
// its queue taken over by a batch that has `room` (an SQL expression) for
// it: none of its pending deliveries was attempted (nor had a request cut
// by a batch's budget: a slow receiver's queue is the workers'), no claim's
// lease token is on it, and it has no more than `room` of them; `limit` (an
// expression without columns, more than any room) bounds how much of its
// queue is read.
std::string may_take_over(const std::string& room, const std::string& limit);

// Prepared once per session (libpqxx keeps it), so PostgreSQL plans it once.
RowsWritten write_rows(pqxx::work& tx, const std::string& group, const std::string& topic,
                       const BatchRows& rows);
// The marks write_rows() left (RowsWritten::marks_later), in the same
// transaction.
void write_marks(pqxx::work& tx, const std::string& group, const std::string& topic,
                 const std::vector<Mark>& marks);

}  // namespace millrace::webhooks::detail
