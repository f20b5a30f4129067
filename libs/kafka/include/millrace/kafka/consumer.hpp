#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/kafka/options.hpp"
#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

struct ConsumerConfig {
  std::string brokers;
  std::string group_id;
  std::string client_id = "millrace";
  std::int32_t session_timeout_ms = 10000;
  std::int32_t max_poll_interval_ms = 300000;
  // Tell the listener when fetching reaches a partition's end.
  bool report_end_of_partition = false;
  Properties extra;
};

// A reader that assigns itself partitions (no group is joined or committed
// under `group_id`, which librdkafka requires all the same) and follows
// what a read_committed consumer sees with little delay: a read_committed
// fetch waits on the broker up to fetch.wait.max.ms (500 ms by default) even
// when records became readable meanwhile, so this waits 20 ms. An
// operator's value in `options.extra` still wins.
ConsumerConfig follower_config(const KafkaClientOptions& options, std::string group_id);

// Told about partition assignment changes. Both run inside Consumer::poll()
// (or close()) on the polling thread.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Set each partition's offset to where consumption must start (offsets kept
  // outside Kafka are applied here, before the assignment takes effect).
  // Leaving kOffsetInvalid means "Kafka's committed offset"; without one,
  // on_offset_out_of_range() is told (no position is ever guessed).
  virtual void on_assign(std::vector<TopicPartition>& partitions) = 0;
  // Last chance to finish work on these partitions before they go.
  virtual void on_revoke(const std::vector<TopicPartition>& partitions) = 0;
  // The broker has no record at the position a partition was to be fetched
  // from: below the log start (retention or deletion passed it) or above
  // the end (the topic was recreated or truncated). `tp.offset` is that
  // position. The partition's fetching has stopped; it resumes only after a
  // seek. Called from inside poll(); exceptions propagate out of poll().
  virtual void on_offset_out_of_range(const TopicPartition& tp) { (void)tp; }
  // Fetching reached the partition's end (ConsumerConfig.report_end_of_partition):
  // `tp.offset` is the next offset to fetch, past any transaction markers,
  // which are no records. A read_committed reader whose records all came
  // is caught up there, although the high watermark stays one past the
  // last record it was handed. Called from inside poll().
  virtual void on_end_of_partition(const TopicPartition& tp) { (void)tp; }
};

// A record held by the program rather than by librdkafka, for a Message made
// without a broker (tests drive the stream loop with these).
struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string payload;
  std::optional<std::string> key;
  std::optional<std::int64_t> timestamp_ms;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One consumed message. Owns librdkafka's buffer, so the views it hands out
// stay valid as long as the Message lives (not only until the next poll).
class Message {
 public:
  // The same accessors over a record of our own.
  static Message from_record(ConsumedRecord record);
  ~Message();
  Message(Message&&) noexcept;
  Message& operator=(Message&&) noexcept;

  std::string_view topic() const;
  std::int32_t partition() const;
  std::int64_t offset() const;
  std::string_view payload() const;
  // The value, nullopt for a null one (a tombstone); payload() reads both
  // as empty.
  std::optional<std::string_view> value() const;
  std::optional<std::string_view> key() const;
  // Milliseconds since the epoch (producer create time or broker append time);
  // nullopt when the broker gave none.
  std::optional<std::int64_t> timestamp_ms() const;
  // The last header with this name, nullopt if absent; a header with a null
  // value reads as an empty view.
  std::optional<std::string_view> header(std::string_view name) const;
  // All headers in order (for copying them to a dead-letter record).
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;
  // The same into `out` (cleared first), whose room a caller reading every
  // record keeps from one to the next.
  void headers(std::vector<std::pair<std::string_view, std::string_view>>& out) const;

 private:
  friend class Consumer;
  struct Impl;
  explicit Message(void* raw);
  void* raw_ = nullptr;                    // rd_kafka_message_t*, destroyed with the Message
  std::unique_ptr<ConsumedRecord> owned_;  // instead of raw_
};

// A high-level consumer group member using the eager `range` assignor and
// rd_kafka_consumer_poll (librdkafka 2.0.2's cooperative-sticky rebalancing and
// batch consume APIs have known bugs). Offsets are never auto-committed: the
// owner of this consumer decides where truth lives. auto.offset.reset is
// `error`: a position the broker no longer (or not yet) has is reported to
// the listener, never silently moved to the log start or end.
class Consumer {
 public:
  // Throws core::InfraError (fatal) if `config.extra` sets a property this
  // class manages (see refuse_consumer_overrides()) or librdkafka refuses one.
  Consumer(const ConsumerConfig& config, RebalanceListener* listener);
  // Leaves the group if close() was not called, WITHOUT the listener: a
  // destructor must not call back into an owner that may be half destroyed.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Joins the group for `topics`. Asks first for their partitions' leaders
  // and waits up to 2 s for the answer (not an error if none comes), so
  // that a partition assigned with no stored position starts at once.
  void subscribe(const std::vector<std::string>& topics);

  // A message, or nullopt on timeout / an informational event. Transient
  // broker errors are counted and logged (they are retried inside librdkafka).
  // Throws core::InfraError(fatal) on fatal consumer errors, and rethrows any
  // exception a RebalanceListener threw during this poll.
  std::optional<Message> poll(std::chrono::milliseconds timeout);
  // Makes a poll() blocked on another thread return nullopt at once, or,
  // when none is blocked, the next poll() that finds no message waiting.
  // For another thread whose work the polling thread waits to collect. May
  // be called from any thread, but not during or after close() or the
  // destructor.
  void wake();

  void pause(const std::vector<TopicPartition>& partitions);
  void resume(const std::vector<TopicPartition>& partitions);
  // Repositions assigned partitions (not for use inside a rebalance callback).
  void seek(const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout);
  // Replaces the whole assignment, each partition starting at its offset:
  // repositions partitions in any state, including one whose fetching
  // stopped on an out-of-range offset (seek refuses those), and without
  // seek's timeout (librdkafka 2.0.2 waits a thousandth of the one given).
  // Application pauses survive it. Not inside a rebalance callback.
  // Returns false, and changes nothing, when the group has dropped this
  // member (assignment_lost()): the revocation comes with the next poll(),
  // then the group's next assignment through the listener. Throws
  // core::InfraError (retryable).
  bool assign(const std::vector<TopicPartition>& partitions);
  // Whether the group has dropped this member (its session expired, or the
  // coordinator forgot it): the assignment is lost, and its revocation is
  // on its way to the next poll().
  bool assignment_lost() const;
  // The partition's log start and end offsets, asked of its leader. Throws
  // core::InfraError (retryable) when the broker does not answer in time.
  std::pair<std::int64_t, std::int64_t> watermarks(const std::string& topic, std::int32_t partition,
                                                   std::chrono::milliseconds timeout);
  // The next offset this consumer will read of each partition (past
  // transaction markers and aborted records, unlike the last record's
  // offset + 1); kOffsetInvalid while it has fetched nothing there yet.
  std::vector<TopicPartition> positions(const std::vector<TopicPartition>& partitions);
  // Every partition's end, asked in one request per leader rather than one
  // per partition (a broker answers a connection's requests in order, so
  // each waits behind the consumer's pending fetch): the high watermark, or
  // the last stable offset under read_committed (librdkafka's default).
  // Throws core::InfraError (retryable) when not answered within `timeout`.
  std::vector<TopicPartition> end_offsets(const std::string& topic, std::int32_t partitions,
                                          std::chrono::milliseconds timeout);
  // The topic's partition count from a metadata request. Throws
  // core::InfraError: retryable without an answer, fatal for a topic that
  // does not exist.
  std::int32_t partition_count(const std::string& topic, std::chrono::milliseconds timeout);
  // Commits offsets to Kafka asynchronously, for lag tooling only.
  void commit_async(const std::vector<TopicPartition>& partitions);

  // Leaves the group cleanly (revoking through the listener), rethrowing what
  // the listener threw. Idempotent. Bounded: a close that cannot finish in
  // 15 s (the brokers gone with an offset commit in flight) is given up and
  // its handle left to the process's exit; after that, only the destructor
  // may be called.
  void close();
  // Stops calling the listener (rebalances then only (un)assign): for an
  // owner that is giving up and must not commit anything more.
  void detach_listener();

  std::uint64_t transient_errors() const;

 private:
  struct State;
  // Leaves a handle still closing to the process's exit (see close()).
  void abandon();
  std::unique_ptr<State> state_;
};

}  // namespace millrace::kafka
