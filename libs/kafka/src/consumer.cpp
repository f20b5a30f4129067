#include "millrace/kafka/consumer.hpp"

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "handles.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::kafka {

using core::FailureClass;
using core::InfraError;

// ---- Consumer --------------------------------------------------------------

struct Consumer::State {
  detail::HandlePtr rk;
  RebalanceListener* listener = nullptr;
  // An exception thrown by the listener cannot cross librdkafka's C frames; it
  // is parked here and rethrown by poll() once control is back in C++.
  std::exception_ptr listener_error;
  std::atomic<std::uint64_t> transient_errors{0};
  std::set<std::string> missing_topics;  // logged as missing once each (poll's thread)
  // The subscribed topics' handles, held so that their partitions keep the
  // leaders subscribe() asked for (after rk: released before it).
  std::vector<detail::TopicPtr> topics;
  bool closed = false;

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list);
  // Leaves the group, serving the rebalance it triggers, for at most
  // kCloseLimit; false when it did not finish by then.
  bool close_within_limit();
};

namespace {

// How long leaving the group may take. librdkafka's close waits for the
// offset commits in flight, and with the brokers gone it can wait for ever
// (librdkafka issue #3740): Millrace's positions live in PostgreSQL, so a
// consumer that cannot say goodbye in time is left behind, and the group
// notices its absence after session.timeout.ms.
constexpr std::chrono::milliseconds kCloseLimit{15000};

// How long subscribe() waits for its topics' leaders: a cluster that does
// not answer by then is left to librdkafka's own lookups.
constexpr std::chrono::milliseconds kLeaderLookup{2000};

}  // namespace

bool Consumer::State::close_within_limit() {
  rd_kafka_t* handle = rk.get();
  rd_kafka_queue_t* queue = rd_kafka_queue_new(handle);
  if (rd_kafka_error_t* error = rd_kafka_consumer_close_queue(handle, queue)) {
    runtime::log_warn("kafka", std::string(rd_kafka_name(handle)) +
                                   ": leaving the group failed: " + rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    rd_kafka_queue_destroy(queue);
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + kCloseLimit;
  while (rd_kafka_consumer_closed(handle) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;  // the queue stays with it
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 100);
    if (event == nullptr) continue;
    if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE) {
      rebalance(rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event));
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  return true;
}

void Consumer::State::rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
  if (listener == nullptr) {
    // Detached: only keep librdkafka's assignment state machine going.
    rd_kafka_assign(rk.get(), err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? list : nullptr);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    auto partitions = detail::from_list(list);
    try {
      listener->on_assign(partitions);
    } catch (...) {
      // Not swallowed: rethrown from poll(). Assign nothing meanwhile so the
      // group does not believe we consume partitions we never positioned.
      listener_error = std::current_exception();
      rd_kafka_assign(rk.get(), nullptr);
      return;
    }
    // Offsets are set in the list itself, before assign: seeking here would
    // race with the fetcher in librdkafka 2.0.2.
    for (std::size_t i = 0; i < partitions.size(); ++i) {
      list->elems[i].offset = partitions[i].offset;
    }
    rd_kafka_assign(rk.get(), list);
  } else {
    const auto partitions = detail::from_list(list);
    try {
      listener->on_revoke(partitions);
    } catch (...) {
      listener_error = std::current_exception();
    }
    rd_kafka_assign(rk.get(), nullptr);
  }
}

ConsumerConfig follower_config(const KafkaClientOptions& options, std::string group_id) {
  ConsumerConfig c;
  c.brokers = options.brokers;
  c.group_id = std::move(group_id);
  c.client_id = options.client_id;
  c.extra = {{"fetch.wait.max.ms", "20"}};
  for (const auto& [key, value] : options.extra) c.extra[key] = value;
  return c;
}

Consumer::Consumer(const ConsumerConfig& config, RebalanceListener* listener)
    : state_(std::make_unique<State>()) {
  state_->listener = listener;
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", config.brokers);
  detail::set_property(conf.get(), "group.id", config.group_id);
  detail::set_property(conf.get(), "client.id", config.client_id);
  detail::set_property(conf.get(), "partition.assignment.strategy", "range");
  detail::set_property(conf.get(), "enable.auto.commit", "false");
  detail::set_property(conf.get(), "enable.auto.offset.store", "false");
  try {
    refuse_consumer_overrides(config.extra);
  } catch (const std::invalid_argument& e) {
    throw InfraError(FailureClass::kFatal, std::string("kafka consumer: ") + e.what());
  }
  // A stored position outside the log is a gap or a recreated topic: the
  // owner must decide (RebalanceListener::on_offset_out_of_range), never
  // librdkafka by jumping to the log start.
  detail::set_property(conf.get(), "auto.offset.reset", "error");
  detail::set_property(conf.get(), "session.timeout.ms", std::to_string(config.session_timeout_ms));
  detail::set_property(conf.get(), "heartbeat.interval.ms",
                       std::to_string(heartbeat_interval_ms(config.session_timeout_ms)));
  detail::set_property(conf.get(), "max.poll.interval.ms",
                       std::to_string(config.max_poll_interval_ms));
  if (config.report_end_of_partition) {
    detail::set_property(conf.get(), "enable.partition.eof", "true");
  }
  // The prefetch is bounded by its bytes (queued.max.messages.kbytes, 64 MiB
  // by default) rather than by 100,000 messages: by 1,000,000, which only
  // messages under 67 bytes reach first. librdkafka 2.0.2 stops fetching
  // once its queue holds either bound, and looks again only when its broker
  // thread next wakes for something else, about once a second: a consumer
  // with a backlog got a bound's worth of records a second. 100,000 of the
  // generator's records (about 43 MB) took a sink 0.4 s, then it waited
  // 0.6 s. Draining 1,000,000 records on the test stack: one sink 125,000-
  // 133,000 -> 167,000-182,000 records/s, the aggregator 112,000-119,000 -> 145,000-
  // 161,000; peak RSS 143 -> 191 and 255 -> 290 MiB. (2.2 added
  // fetch.queue.backoff.ms for this; an operator's value in extra wins.)
  detail::set_property(conf.get(), "queued.min.messages", "1000000");
  detail::set_properties(conf.get(), config.extra);
  detail::install_logger(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), state_.get());
  rd_kafka_conf_set_rebalance_cb(
      conf.get(), [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list,
                     void* opaque) { static_cast<State*>(opaque)->rebalance(err, list); });
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw InfraError(FailureClass::kFatal, std::string("kafka consumer: ") + err);
  conf.release();
  state_->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);
}

Consumer::~Consumer() {
  if (!state_->closed) {
    state_->closed = true;
    state_->listener = nullptr;
    if (!state_->close_within_limit()) abandon();
  }
}

void Consumer::abandon() {
  // Still closing in librdkafka's threads: the handle and the state its
  // callbacks use stay allocated, for the rest of the process (it is on
  // its way out: a consumer is closed when its owner stops).
  runtime::log_warn("kafka", std::string(rd_kafka_name(state_->rk.get())) +
                                 ": could not leave the group within " +
                                 std::to_string(kCloseLimit.count() / 1000) +
                                 " s (brokers unreachable?); left behind, the group drops it "
                                 "after its session timeout");
  (void)state_->rk.release();
  (void)state_.release();
}

void Consumer::detach_listener() {
  state_->listener = nullptr;
}

void Consumer::subscribe(const std::vector<std::string>& topics) {
  // Each topic's partitions learn their leaders before an assignment names
  // them. librdkafka 2.0.2 looks up a logical start (the log's beginning,
  // where a partition with no stored position starts) only through the
  // partition's leader; a partition the assignment makes before it has
  // one waits 500 ms for its next try (rd_kafka_toppar_offset_request),
  // and in the bench a new archiver read its first record half a second
  // after its assignment in most starts (a packet capture showed the
  // ListOffsets requests going out on that timer). A handle on the topic
  // keeps its partitions, and a metadata request on it gives them their
  // leaders; one that fails leaves it to librdkafka's own lookups, as
  // before.
  for (const auto& t : topics) {
    auto handle =
        detail::learn_leaders(state_->rk.get(), t, static_cast<int>(kLeaderLookup.count()));
    if (handle) state_->topics.push_back(std::move(handle));
  }
  detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const auto err = rd_kafka_subscribe(state_->rk.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kFatal, std::string("subscribe: ") + rd_kafka_err2str(err));
  }
}

// rd_kafka_consumer_poll() waits on the consumer queue (the main queue is
// forwarded to it by rd_kafka_poll_set_consumer()); a yield on that queue
// ends the wait, and when no one waits, the next one that finds it empty.
void Consumer::wake() {
  const detail::QueuePtr queue(rd_kafka_queue_get_consumer(state_->rk.get()));
  if (queue) rd_kafka_queue_yield(queue.get());
}

std::optional<Message> Consumer::poll(std::chrono::milliseconds timeout) {
  detail::MessagePtr msg(
      rd_kafka_consumer_poll(state_->rk.get(), static_cast<int>(timeout.count())));
  if (state_->listener_error)
    std::rethrow_exception(std::exchange(state_->listener_error, nullptr));
  if (!msg) return std::nullopt;
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) return Message(msg.release());
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (state_->listener != nullptr && msg->rkt != nullptr) {
      state_->listener->on_end_of_partition(
          {rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset});
    }
    return std::nullopt;
  }
  if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && msg->rkt != nullptr) {
    // librdkafka stopped fetching the partition (auto.offset.reset=error);
    // the message's offset is the position that was out of range.
    if (state_->listener != nullptr) {
      state_->listener->on_offset_out_of_range(
          {rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset});
    }
    return std::nullopt;
  }
  char fatal[512];
  if (msg->err == RD_KAFKA_RESP_ERR__FATAL &&
      rd_kafka_fatal_error(state_->rk.get(), fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kFatal, std::string("kafka consumer fatal error: ") + fatal);
  }
  if (msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
      msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    // Waited for, not fatal: the topic may be made after the service
    // starts (`millrace create-topics` as a Kubernetes Job beside it). The
    // service's readiness says so (kafka::topic_probe); the group is
    // assigned its partitions once the topic exists.
    const std::string topic = msg->rkt != nullptr ? rd_kafka_topic_name(msg->rkt) : "?";
    if (state_->missing_topics.insert(topic).second) {
      runtime::log_warn("kafka", "topic " + topic +
                                     " does not exist; waiting for it (create it with `millrace "
                                     "create-topics`): " +
                                     rd_kafka_message_errstr(msg.get()));
    }
    return std::nullopt;
  }
  if (msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
      msg->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
    const char* topic = msg->rkt != nullptr ? rd_kafka_topic_name(msg->rkt) : "?";
    throw InfraError(FailureClass::kFatal, std::string("kafka consumer on topic ") + topic + ": " +
                                               rd_kafka_message_errstr(msg.get()));
  }
  // Everything else (broker down, request timeouts, leader changes) is retried
  // by librdkafka itself; counted so a metric can show it, logged sparsely.
  const auto n = ++state_->transient_errors;
  if ((n & (n - 1)) == 0) {
    runtime::log_warn("kafka", "consumer: transient error #" + std::to_string(n) + ": " +
                                   rd_kafka_message_errstr(msg.get()));
  }
  return std::nullopt;
}

void Consumer::pause(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = detail::to_list(partitions);
  rd_kafka_pause_partitions(state_->rk.get(), list.get());
}

void Consumer::resume(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = detail::to_list(partitions);
  rd_kafka_resume_partitions(state_->rk.get(), list.get());
}

void Consumer::seek(const std::vector<TopicPartition>& partitions,
                    std::chrono::milliseconds timeout) {
  if (partitions.empty()) return;
  auto list = detail::to_list(partitions);
  detail::ErrorPtr error(
      rd_kafka_seek_partitions(state_->rk.get(), list.get(), static_cast<int>(timeout.count())));
  if (error) {
    throw InfraError(FailureClass::kRetryable,
                     std::string("seek: ") + rd_kafka_error_string(error.get()));
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw InfraError(FailureClass::kRetryable, "seek " + std::string(list->elems[i].topic) + "[" +
                                                     std::to_string(list->elems[i].partition) +
                                                     "]: " + rd_kafka_err2str(list->elems[i].err));
    }
  }
}

// librdkafka 2.0.2 replaces an assignment by stopping each partition it
// held (an op on the partition's handler queue, whose answer goes to the
// main thread's queue) and starting the new ones once every answer is in.
// An unassign served before those answers (a revocation that was queued
// for the next poll: the group rebalancing, not dropping this member)
// stops the same partitions again, and the second answer aborted the
// process on `rktp->rktp_started` (librdkafka issue #5573;
// tests/lost_assignment_test.cpp). A seek of every partition to the offset
// just assigned goes through the same handler queues behind the stops:
// once all are answered, every stop's answer is on the main thread's
// queue, ahead of any assignment change made after this returns (the
// group's ops are forwarded to that queue, first in first out). A seek
// that finds its partition stopped changes nothing (an error, ignored);
// one that finds it started puts it where the assignment did.
namespace {

void settle_stops(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* list) {
  if (list->cnt == 0) return;
  // 2.0.2 waits a thousandth of the timeout given (as microseconds): this
  // is 10 s.
  constexpr int kSettleWait = 10'000'000;
  detail::ErrorPtr error(rd_kafka_seek_partitions(rk, list, kSettleWait));
  if (error) {
    runtime::log_warn("kafka", std::string(rd_kafka_name(rk)) +
                                   ": the re-assignment's partitions did not answer in 10 s (" +
                                   rd_kafka_error_string(error.get()) + ")");
  }
}

}  // namespace

bool Consumer::assign(const std::vector<TopicPartition>& partitions) {
  // A lost assignment's revocation is queued for the next poll: replacing
  // the assignment before it is served made librdkafka 2.0.2 abort on
  // `rktp->rktp_started` as that revocation stopped the partitions the new
  // assignment had queued (tests/lost_assignment_test.cpp, found by
  // scripts/nemesis --seed 12). The revocation and the group's next
  // assignment, through the listener, position the partitions instead.
  // (The flag is set on librdkafka's main thread: a loss in the instant
  // between this check and rd_kafka_assign is not covered.)
  if (assignment_lost()) return false;
  auto list = detail::to_list(partitions);
  const auto err = rd_kafka_assign(state_->rk.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kRetryable, std::string("assign: ") + rd_kafka_err2str(err));
  }
  settle_stops(state_->rk.get(), list.get());
  return true;
}

bool Consumer::assignment_lost() const {
  return rd_kafka_assignment_lost(state_->rk.get()) != 0;
}

std::pair<std::int64_t, std::int64_t> Consumer::watermarks(const std::string& topic,
                                                           std::int32_t partition,
                                                           std::chrono::milliseconds timeout) {
  return detail::query_watermarks(state_->rk.get(), topic, partition, timeout);
}

std::vector<TopicPartition> Consumer::positions(const std::vector<TopicPartition>& partitions) {
  auto list = detail::to_list(partitions);
  const auto err = rd_kafka_position(state_->rk.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kRetryable, std::string("position: ") + rd_kafka_err2str(err));
  }
  return detail::from_list(list.get());
}

std::vector<TopicPartition> Consumer::end_offsets(const std::string& topic, std::int32_t partitions,
                                                  std::chrono::milliseconds timeout) {
  return detail::end_offsets(state_->rk.get(), topic, partitions, timeout);
}

std::int32_t Consumer::partition_count(const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  return detail::partition_count(state_->rk.get(), topic, timeout);
}

void Consumer::commit_async(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = detail::to_list(partitions);
  // Failures only make lag tools lag; PostgreSQL holds the real position.
  rd_kafka_commit(state_->rk.get(), list.get(), 1);
}

void Consumer::close() {
  if (state_->closed) return;
  state_->closed = true;
  if (!state_->close_within_limit()) {
    auto error = std::exchange(state_->listener_error, nullptr);
    abandon();
    // The owner stays usable for its destructor: an empty state, closed.
    state_ = std::make_unique<State>();
    state_->closed = true;
    if (error) std::rethrow_exception(error);
    return;
  }
  if (state_->listener_error)
    std::rethrow_exception(std::exchange(state_->listener_error, nullptr));
}

std::uint64_t Consumer::transient_errors() const {
  return state_->transient_errors.load();
}

}  // namespace millrace::kafka
