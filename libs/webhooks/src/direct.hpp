#pragma once

// The change topic's consumer sending its batch's deliveries itself, inside
// the batch's transaction, so that a delivery that can go at once writes
// one row, once, and no worker claims, reads or updates it (issue 82;
// docs/exactly-once.md, "Webhooks"). What cannot go at once is enqueued
// for the workers as before. The rules:
//  - An endpoint is held for the batch only: one that is active, has no
//    rate limit and no live lease is locked (FOR NO KEY UPDATE SKIP LOCKED,
//    as a claim locks it) in the batch's transaction before its rows are
//    written. Its queue, if it has one, is taken over: only when no claim
//    holds it (no lease token), none of its pending deliveries was
//    attempted, and they are few enough (kMaxPerBatch with the batch's); the
//    rows statement checks that again in its own snapshot and returns them
//    (batch_rows.hpp), sent first in queue order. Otherwise the rows
//    statement sends nothing to it directly, so its queue's order holds.
//  - Only what the rows statement found new, from a whole batch: a change
//    the feed published twice, or a batch written again, is not sent twice.
//  - In commit order, only what the marks (with this batch's own) release,
//    in change-id order, up to the first they do not; in key order, in
//    record order. The rest is enqueued, pending.
//  - Each endpoint's deliveries go one at a time, by the workers' own loop
//    (deliver_claim), endpoints in parallel; each stops at its first
//    failure, stored as a worker stores one (failures.hpp).
//  - Within a budget (--direct-ms) on a steady clock, checked before each
//    request, and each request cut at it: a cut request counts as not sent
//    (it is enqueued, and its receiver may get it twice), and an endpoint
//    that used the budget up goes through the workers for `slow_for`. The
//    budget keeps the transaction well under lock_timeout (5 s: a new
//    owner's fence waits that long on this member's offsets) and
//    idle_in_transaction_session_timeout.
//  - After stop(), nothing is sent: a shutdown's last batches only enqueue.
//    A batch committed in a rebalance's callback still sends, within the
//    budget.
// At least once, as a worker's: a batch whose commit fails after its sends
// is read again and sent again, with the same webhook-id.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "batch_rows.hpp"
#include "dispatch.hpp"
#include "ingest.hpp"
#include "queue.hpp"
#include "sender.hpp"

namespace millrace::webhooks::detail {

// One endpoint's deliveries from a batch and what became of them.
struct DirectRun {
  // The endpoint, and the deliveries it may be sent now in queue order
  // (Delivery::id: the change's index in the batch's changes).
  Claim target;
  // Attempts made, in order, each pointing into target.deliveries; a
  // request cut by the budget is not among them.
  std::vector<Recorded> recorded;
  ClaimResult result;  // for the metrics, as a worker's claim reports
  bool cut = false;    // the budget ran out before its deliveries did
  // The delivery (Delivery::id) whose request the budget cut, if one was:
  // its row is marked so (last_attempt_at and last_error, attempts
  // unchanged), and no batch takes its queue over (may_take_over()).
  std::optional<std::int64_t> cut_request;
  // Every delivery of the endpoint in the batch, in queue order (indexes
  // in the batch's changes): those in target.deliveries, then those held
  // back. Its pending deliveries taken over are not among them: one not
  // sent stays as it is.
  std::vector<std::size_t> queue;
};

// The threads a batch's requests go out on at most (endpoints sent to at
// once).
inline constexpr std::size_t kMaxThreads = 8;

// A batch sends to an endpoint only up to this many deliveries: a batch
// with more is one that waited (the consumer is behind), and its requests,
// one at a time in its transaction, would hold the next batch back longer
// still, while the workers send beside the consumer. Measured in
// docs/benchmarks.md ("The consumer sending its batches' deliveries
// itself").
inline constexpr std::size_t kMaxPerBatch = 100;

// The endpoints of `routed` (an endpoint once per delivery of the batch)
// with at most `max` deliveries each, each with the room left: how many
// pending deliveries it may have for the batch to take its queue over.
std::map<std::int64_t, std::int64_t> room_left(const std::vector<std::int64_t>& routed,
                                               std::size_t max);

// An endpoint whose requests used a batch's budget up goes through the
// workers this long.
inline constexpr std::chrono::seconds kSlowFor{30};

// Sends each run's deliveries through its sender (senders[i] for runs[i],
// each used by one thread), the runs in parallel, one at a time within a
// run, by deliver_claim's rules and `rules.deadline`; a run's jitter comes
// from seeds[i]. A run is cut when the deadline came before its deliveries
// were done; a run with no delivery sends nothing. With `cut_at`, a
// request that got no answer within it (within 90 % of it: the HTTP
// client's clock is not ours) was cut by the budget, not failed by its
// receiver: it is dropped from the run's outcomes, and the run is cut.
void send_runs(std::vector<DirectRun>& runs, const std::vector<Sender*>& senders,
               const DispatchRules& rules, const std::vector<std::uint64_t>& seeds,
               std::optional<std::chrono::milliseconds> cut_at, const std::atomic<bool>& stopping);

// Per endpoint of `held` (hold()'s), the deliveries the rows statement
// returned for it (`enqueued`, per change of `changes`; `adopted`, its
// pending ones), in queue order: change-id order (bytewise, as COLLATE
// "C") in commit order; in key order its pending ones by row id, then the
// batch's in record order; target.deliveries up to the first the marks
// hold back. A batch's delivery has its change's index as its id, a
// pending one -1 - its index in `adopted`.
std::vector<DirectRun> plan_runs(const std::map<std::int64_t, Claim>& held,
                                 const std::vector<const ChangeFacts*>& changes,
                                 const std::vector<Enqueued>& enqueued,
                                 const std::vector<Adopted>& adopted);

struct DirectOptions {
  std::chrono::milliseconds budget{1000};  // 0: never send from the batch
  // The endpoints' request timeout (--timeout-ms); a direct request is cut
  // at the budget when that is shorter.
  std::chrono::milliseconds timeout{15000};
  // An endpoint whose sends used the budget up leaves the direct path this
  // long.
  std::chrono::milliseconds slow_for{kSlowFor};
  // The workers' rules (schedule, user agent, clock); the schedule is
  // asked before each batch's sends (a SIGHUP's).
  DispatchRules rules;
  std::function<RetrySchedule()> schedule;
};

class DirectSend {
 public:
  // `make_sender(timeout)`: a sender with its own HTTP client, kept for one
  // endpoint (its connections are reused). `report`: each endpoint's
  // attempts, whether it used the budget up, and whether a request was cut
  // by it, for the metrics and logs.
  using MakeSender = std::function<std::unique_ptr<Sender>(std::chrono::milliseconds)>;
  using Report =
      std::function<void(std::int64_t endpoint, const ClaimResult&, bool cut, bool request_cut)>;
  DirectSend(DirectOptions options, MakeSender make_sender, Report report);

  // False once stopped, or when the budget is 0.
  bool on() const { return options_.budget.count() > 0 && !stopping_.load(); }
  // Called before the consumer's last batches: they only enqueue.
  void stop() { stopping_ = true; }

  // In the batch's transaction, before its rows: locks the endpoints among
  // `routed` (each once per delivery) that may be sent to from the batch
  // (kMaxPerBatch deliveries at most, its queue's included), and returns
  // them with their rooms (BatchRows::direct).
  std::map<std::int64_t, std::int64_t> hold(pqxx::work& tx,
                                            const std::vector<std::int64_t>& routed);

  // After the rows (`changes`, and what `written` returned for them and of
  // the held endpoints' queues): sends the held endpoints' deliveries, and
  // stores every one in `tx`, the batch's not sent as pending. Returns
  // whether it sent the workers' wake-up.
  bool send_and_store(pqxx::work& tx, const std::vector<const ChangeFacts*>& changes,
                      const RowsWritten& written, const std::string& source_prefix);

 private:
  bool store(pqxx::work& tx, std::vector<DirectRun>& runs,
             const std::vector<const ChangeFacts*>& changes, const std::vector<Adopted>& adopted);
  Sender* sender_for(std::int64_t endpoint);

  DirectOptions options_;
  MakeSender make_sender_;
  Report report_;
  std::atomic<bool> stopping_{false};
  std::map<std::int64_t, Claim> held_;  // this batch's, from hold()
  std::map<std::int64_t, std::unique_ptr<Sender>> senders_;
  std::map<std::int64_t, std::chrono::steady_clock::time_point> slow_until_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace millrace::webhooks::detail
