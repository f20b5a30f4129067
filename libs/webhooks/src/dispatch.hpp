#pragma once

// One delivery worker's step: post a claimed queue's deliveries in order
// and record each outcome. Through the Queue and Sender ports only, so the
// ordering rules are unit-tested with fakes (tests/dispatch_test.cpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "queue.hpp"
#include "sender.hpp"

namespace millrace::webhooks::detail {

struct DispatchRules {
  RetrySchedule schedule;
  std::int64_t lease_ms = 40000;
  // How long a claim's outcomes may wait to be stored together: one
  // transaction for a run of quick deliveries instead of one each. A crash
  // in between sends them again (with the same webhook-id); the lease is
  // extended at least this often, plus one request.
  std::chrono::milliseconds record_every{100};
  // Deliveries a claim sends from its endpoint's queue before it gives the
  // queue up for the others. While all are delivered and the budget lasts,
  // storing them reads the next ones (Queue::record_and_continue).
  int max_per_claim = 100;
  // Asked when the budget is spent: whether another worker is idle, and so
  // free to take any other endpoint's deliveries. Then the queue is kept
  // for another max_per_claim, since giving it up would only cost a
  // release and a claim (three statements) while nobody else waits for a
  // worker. Empty: the budget always ends the claim.
  std::function<bool()> others_served;
  // A claim keeps its queue past its budget (others_served) only this long
  // after it was taken: what it brought of its endpoint (URL, secrets,
  // format) takes effect at the next claim even under a steady backlog.
  std::chrono::milliseconds keep_for{1000};
  std::string user_agent;
  // The CloudEvents source of a change is this, "/", and its table
  // (wire.hpp).
  std::string source_prefix = "/millrace";
  // A rate-limited endpoint's claim waits for its next delivery's turn
  // (with `pause`, which returns true when stopping) when it comes within
  // this; otherwise it gives the queue up until then.
  std::chrono::milliseconds max_rate_pause{1000};
  std::function<bool(std::chrono::milliseconds)> pause;
  // Seconds since the epoch, for webhook-timestamp (a clock of the tests').
  std::function<std::int64_t()> now_s;
  // [0, 1): picks each retry's jitter.
  std::function<double()> unit_random;
  // No request starts past this: the claim stops as when stopping (the
  // consumer's own sends keep to a budget: direct.hpp).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// What one claim came to.
struct ClaimResult {
  struct Attempt {
    Verdict verdict;
    double seconds;         // the request's duration
    double since_commit_s;  // from the change's commit to the answer
  };
  std::vector<Attempt> attempts;
  bool lease_lost = false;  // another worker holds the queue now
  // Every attempt was a delivery and the budget (max_per_claim) ran out
  // with no other worker idle: the queue may hold more, and was given up
  // for the others.
  bool budget_spent = false;
  int continued = 0;  // times the queue's next deliveries came with a store
  // The endpoint's rate limit held its next delivery back longer than
  // DispatchRules::max_rate_pause: the queue was given up until its turn.
  bool paced = false;
  // Not empty when a failure disabled the endpoint (it had failed longer
  // than its disable_after): why.
  std::string auto_disabled;
};

// Posts `claim`'s deliveries in queue order, each signed with every secret
// of the endpoint and a fresh timestamp, and records the outcomes (several
// in one transaction: DispatchRules::record_every). When all were
// delivered, storing the last of them reads the queue's next deliveries,
// which go out under the same lease, up to DispatchRules::max_per_claim in
// all. Stops at the first that is not delivered, since the endpoint's order
// holds the rest behind it, when the lease is lost, or when `stopping` is
// set (between requests). Releases the queue with the last outcomes unless
// the lease was lost.
// Database failures are thrown (core::InfraError) after the attempt in
// flight.
ClaimResult deliver_claim(const Claim& claim, Queue& queue, Sender& sender,
                          const DispatchRules& rules, const std::atomic<bool>& stopping);

// The request for one delivery in the endpoint's format (wire.hpp): URL,
// content type (and the ce-* headers in CloudEvents' binary mode), user
// agent, the three Standard Webhooks headers over the body as sent, and the
// body.
Post make_post(const Claim& claim, const Delivery& delivery, std::int64_t timestamp,
               const DispatchRules& rules);

}  // namespace millrace::webhooks::detail
