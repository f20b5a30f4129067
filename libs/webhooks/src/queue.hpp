#pragma once

// The port in front of the delivery queue in PostgreSQL
// (webhook_deliveries): the dispatcher's rules run in unit tests against a
// fake of it, and pg_queue.cpp holds the SQL.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "millrace/webhooks/schedule.hpp"
#include "wire.hpp"

namespace millrace::webhooks::detail {

struct Delivery {
  std::int64_t id = 0;
  std::string change_id;  // webhook-id
  std::string body;
  int attempts = 0;        // made before this one
  double committed_s = 0;  // the change's commit, seconds since the epoch
};

// An endpoint whose queue this worker holds, with the first deliveries of
// that queue in order. `lease` proves the hold: a worker whose lease ran
// out (it froze, or lost its database) can no longer record anything.
struct Claim {
  std::int64_t endpoint = 0;
  std::string url;
  std::vector<std::string> secrets;  // the current one first
  std::int64_t lease = 0;
  bool commit_order = true;  // the endpoint's ordering: commit, or key
  Format format = Format::kStandard;
  // Deliveries per second at most (0: no limit), and how long from the
  // claim until the next may go (the limiter's state, kept with the
  // endpoint: every worker and replica honours it).
  double rate_limit = 0;
  std::chrono::milliseconds rate_wait{0};
  bool more = false;  // another endpoint could be claimed as this one was
  std::vector<Delivery> deliveries;
};

// What became of one attempt, as stored.
struct Recorded {
  const Delivery* delivery = nullptr;
  AttemptResult result;
  Decision decision;
  // When the answer came (or the request failed): the stored attempt time
  // is the database's clock at recording, less the time since.
  std::chrono::steady_clock::time_point answered;
};

// What storing outcomes came to.
struct Stored {
  bool held = false;  // false: the lease was no longer the claim's; nothing stored
  // Not empty when a failure stored disabled the endpoint, for having
  // failed longer than its disable_after: why, as stored.
  std::string auto_disabled;
};

// When the claim's endpoint may be sent to next, as a worker keeps it: the
// time from now, or nullopt for no limit (the stored state is left alone).
using RateWait = std::optional<std::chrono::milliseconds>;

struct QueueStats {
  struct Endpoint {
    std::int64_t id = 0;
    bool active = true;
    std::int64_t pending = 0;
    std::int64_t failed = 0;
    double oldest_pending_s = 0;  // age of its oldest pending delivery; 0 with none
    std::int64_t filtered = 0;    // changes its filters left out
    double failing_s = 0;         // since its first failure after the last delivery; 0: none
  };
  std::vector<Endpoint> endpoints;
};

class Queue {
 public:
  virtual ~Queue() = default;
  // Takes the active endpoint whose queue's head is due the longest, if any
  // is free (SELECT ... FOR NO KEY UPDATE SKIP LOCKED, then a lease of
  // `lease_ms`), with up to `max` of its pending deliveries in queue order,
  // and whether another endpoint was free to claim too.
  virtual std::optional<Claim> claim(std::int64_t lease_ms, int max) = 0;
  // Stores the outcomes of attempts of the claim, in one transaction, and
  // extends the lease, or gives the endpoint's queue up for the next claim
  // when `release`; false (nothing stored) when the lease is no longer this
  // claim's. Every outcome but the last is a delivery (a claim stops at the
  // first that is not). A delivery ends the endpoint's failing time; a
  // failure starts it, and disables the endpoint once it is longer than
  // the endpoint's disable_after. `rate` is stored as the limiter's state.
  virtual Stored record(const Claim& claim, std::span<const Recorded> recorded,
                        std::int64_t lease_ms, bool release, RateWait rate) = 0;
  // For a claim whose outcomes are all deliveries: stores them as record()
  // does and, in the same round trip, reads the endpoint's next pending
  // deliveries, up to `max` in queue order and released as claim() reads
  // them, so that a worker keeps a busy queue without claiming it again.
  // With some, the lease is extended and they are returned; with none, or
  // when the lease ran out, the queue is given up and the list is empty.
  // nullopt (nothing stored) when the lease is no longer this claim's.
  virtual std::optional<std::vector<Delivery>> record_and_continue(
      const Claim& claim, std::span<const Recorded> recorded, std::int64_t lease_ms, int max,
      RateWait rate) = 0;
  virtual QueueStats stats() = 0;
  // Deletes delivered rows older than `keep_s`; returns how many.
  virtual std::int64_t prune_delivered(std::int64_t keep_s) = 0;
};

}  // namespace millrace::webhooks::detail
