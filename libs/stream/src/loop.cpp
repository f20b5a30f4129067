// The loop thread's run: PostgreSQL prepared, the topic subscribed, then one
// round of polling after another until a stop, and the shutdown that
// commits what was read. The rounds' jobs are in the files loop.hpp lists.
#include "loop.hpp"

#include <algorithm>
#include <future>
#include <string>
#include <thread>

#include "millrace/runtime/log.hpp"

namespace millrace::stream {

using std::chrono::milliseconds;

namespace {

// How long a poll waits while a batch commits, at most. The loop collects a
// finished commit only between polls; the commit thread ends the poll as it
// finishes (ConsumerPort::wake), so this bounds only a wake-up missed.
constexpr milliseconds kSettlePoll{10};

}  // namespace

void TransactionalConsumer::Loop::run() {
  prepare();
  consumer_->subscribe({config_.kafka.topic});
  runtime::log_info(component_, "consuming " + config_.kafka.topic + " as group " + config_.group);

  while (!worker_.stopping()) {
    if (resetting_) {
      recover();
      continue;
    }
    poll_round();
  }

  // SIGTERM: finish the batch in flight, commit the one accumulated, leave
  // the group.
  drain();
  commit_kafka(true);
  consumer_->close();
  closed_ = true;
  runtime::log_info(component_,
                    "stopped after consuming " + std::to_string(stats().consumed) + " record(s)");
}

void TransactionalConsumer::Loop::prepare() {
  // Migrations first: a handler's session may prepare tables shaped like
  // the migrated ones.
  with_retry("prepare PostgreSQL", [&] {
    // Migrated already: no DDL. Behind: migrate, or wait for the schema's
    // owner to, as pg::prepare_schema decides for every service.
    const bool ready =
        batch_committer_->prepare_schema([&](milliseconds wait) { return worker_.pause(wait); });
    if (!ready) throw runtime::Stopped{};
    batch_committer_->ensure_connected();
    batch_committer_->register_group(config_.service);
    return 0;
  });
}

// One poll, then whatever fell due: a finished commit, Kafka's offsets, the
// probe's reports, a stall, a batch to seal, the handler's idle(); after
// a poll that found nothing, a handler that seals its batches hears that
// the batch has all there was (SealsBatches::caught_up).
//
// The clock is read once before the poll and once after it (again after a
// seal), not by each check: in a busy stream a round is one record, and
// `perf` put clock reads at about 6 % of a sink's CPU, librdkafka's own
// among them. A check that falls due while the round's record is handled
// is seen in the next round, whose poll waits no longer than the batch's
// deadline.
void TransactionalConsumer::Loop::poll_round() {
  // With close_when_idle, a batch with no commit ahead of it is sealed as
  // soon as a poll finds nothing more at hand: a lone record does not wait
  // out batch_ms, while records that keep coming, or that pile up behind a
  // commit in flight, still make large batches (up to the limits).
  const bool seal_if_idle = config_.close_when_idle && !batch_.empty() && !in_flight_;
  const milliseconds timeout = seal_if_idle
                                   ? milliseconds(0)
                                   : std::clamp(seal_wait(Clock::now()), milliseconds(0),
                                                in_flight_ ? kSettlePoll : detail::kPollInterval);
  auto msg = consumer_->poll(timeout);
  auto now = Clock::now();
  if (msg) {
    // A record that comes after the batch fell due starts the next one
    // (for the archiver: the next time window's file).
    if (!resetting_ && seal_wait(now) <= milliseconds(0)) {
      flush(RecordRef{msg->partition(), msg->offset()});
      now = Clock::now();  // the hand-off may have waited for a commit
    }
    handle(*msg);
  } else if (seal_if_idle && !resetting_) {
    flush();
    now = Clock::now();
  } else if (seals_ != nullptr && !resetting_ && !batch_.empty()) {
    seals_->caught_up(*state_);
  }
  if (in_flight_ && (in_flight_->finishing.load() ||
                     in_flight_->outcome.wait_for(milliseconds(0)) == std::future_status::ready)) {
    settle();
  }
  commit_kafka(false, now);
  report_reads(now);
  rearm_stalled();
  if (!resetting_ && seal_wait(now) <= milliseconds(0)) flush();
  report_idle();
}

}  // namespace millrace::stream
