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
};

struct Enqueued {
  std::int64_t matched = 0;   // endpoints that took the change (still registered)
  std::int64_t enqueued = 0;  // deliveries inserted now (fewer: enqueued before)
};

struct RowsWritten {
  std::vector<Enqueued> changes;  // one per BatchRows::changes, in order
  bool woke = false;              // the statement sent the wake-up
  bool at_end = false;            // a mark was at its partition's end
  std::string now;                // the transaction's start, PostgreSQL's text
};

// Prepared once per session (libpqxx keeps it), so PostgreSQL plans it once.
RowsWritten write_rows(pqxx::work& tx, const std::string& group, const std::string& topic,
                       const BatchRows& rows);

}  // namespace millrace::webhooks::detail
