// Recovery: after a failed or fenced commit the loop forgets what it had
// not committed and resumes from the offsets PostgreSQL holds, retrying
// with a backoff while the database is away.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "loop.hpp"

namespace millrace::stream {

using std::chrono::milliseconds;

// Stop consuming and forget uncommitted work; recover() resumes from the
// offsets PostgreSQL holds, which is correct whatever happened to the
// failed transaction (even a commit whose outcome is unknown). Called with
// no commit in flight (settle() collected it), so the connection is ours,
// and recover() runs only then too.
void TransactionalConsumer::Loop::begin_reset() {
  if (in_flight_) throw std::logic_error("reset while a commit is in flight");
  batch_.clear();
  state_ = handler_.open_batch();
  forget_reads(book_.partitions());
  batch_committer_->disconnect();
  // Stop fetching by assigning nothing, not by pausing: in librdkafka
  // 2.0.2 a resume takes its version barrier on this thread while the
  // re-assignment's fetch start takes a later one on librdkafka's main
  // thread; when the resume reaches the partition's queue after the fetch
  // start it is dropped as outdated, and the partition stays paused for
  // good (confluentinc/librdkafka#5591 describes the same race). Measured
  // with the mock cluster under load: pause, assign, resume left a
  // partition unread in 14 of 2,700 re-assignments; assign alone in 0 of
  // 2,400. Assignments are all ordered on librdkafka's main thread.
  // Inside a rebalance callback librdkafka sets the assignment itself when
  // the callback returns; messages read until recover() are dropped by
  // handle().
  if (!in_rebalance_) consumer_->assign({});
  resetting_ = true;
}

void TransactionalConsumer::Loop::recover() {
  // Keep polling while paused: it serves rebalances and keeps us in the group.
  const auto wait = backoff_.current();
  const auto until = Clock::now() + wait;
  while (!worker_.stopping() && Clock::now() < until) {
    consumer_->poll(std::min(detail::kPollInterval, wait));  // any message here is stale
  }
  if (worker_.stopping()) return;
  try {
    const auto stored = batch_committer_->claim(book_.partitions());
    for (const auto& [p, offset] : stored) {
      book_.assign(p, offset);
      probe_.set_position(p, offset);
    }
    const bool assigned = reassign();
    resetting_ = false;
    // The next reset waits longer, until a batch commits
    // (settle_committed() starts over): a failure that comes back with
    // every batch, such as an archive store that refuses, backs off too.
    backoff_.grow();
    runtime::log_info(component_, assigned ? "resumed from stored offsets"
                                           : "resuming from stored offsets with the group's next "
                                             "assignment (the group dropped this member)");
  } catch (const core::InfraError& e) {
    probe_.pg_error(e.failure_class());
    if (!e.retryable()) throw;
    bump([](StreamStats& s) { ++s.db_errors; });
    backoff_.grow();
    runtime::log_warn(component_, std::string(e.what()) + "; retrying in " +
                                      std::to_string(backoff_.current().count()) + " ms");
  }
}

}  // namespace millrace::stream
