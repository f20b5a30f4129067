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
  // Endpoints the batch's transaction holds to send to itself (direct.hpp).
  // Their deliveries are not inserted here but returned (Enqueued::direct),
  // unless the endpoint has deliveries pending in this statement's snapshot
  // (then they join its queue as any other's); written after the sends.
  std::vector<std::int64_t> direct;
};

// A delivery to an endpoint held for sending from the batch (BatchRows::direct).
struct DirectDelivery {
  std::int64_t endpoint = 0;
  // The marks, with this batch's own, release it now (read_marks.hpp); in
  // key order, always.
  bool go = false;
  bool operator==(const DirectDelivery&) const = default;
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
};

// Prepared once per session (libpqxx keeps it), so PostgreSQL plans it once.
RowsWritten write_rows(pqxx::work& tx, const std::string& group, const std::string& topic,
                       const BatchRows& rows);
// The marks write_rows() left (RowsWritten::marks_later), in the same
// transaction.
void write_marks(pqxx::work& tx, const std::string& group, const std::string& topic,
                 const std::vector<Mark>& marks);

}  // namespace millrace::webhooks::detail
