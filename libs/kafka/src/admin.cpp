#include "millrace/kafka/admin.hpp"

#include <algorithm>
#include <functional>

#include "handles.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/runtime/retry.hpp"

namespace millrace::kafka {

using core::FailureClass;
using core::InfraError;

namespace {

// CreateTopics answers once the controller has the topic; the broker's
// metadata cache learns of it a moment later. A worker started in that moment
// was told the topic does not exist (seen on a freshly started KRaft broker),
// so "created" waits until the topic and a leader for each partition show.
void wait_until_visible(rd_kafka_t* rk, const std::string& topic, std::int32_t partitions,
                        std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
      rd_kafka_topic_new(rk, topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  std::string seen = "no metadata";
  const auto not_yet = [&](std::string what) {
    seen = std::move(what);
    return InfraError(FailureClass::kRetryable,
                      "created topic " + topic + ", but the broker does not show it yet: " + seen);
  };
  runtime::Retry(runtime::Backoff::fixed(std::chrono::milliseconds(100)))
      .until(std::chrono::steady_clock::now() + timeout)
      .run([&](const runtime::Try& t) {
        if (t.left.count() <= 0) throw not_yet(seen);  // woke just past the deadline
        const rd_kafka_metadata_t* raw = nullptr;
        const auto err =
            rd_kafka_metadata(rk, 0, rkt.get(), &raw, static_cast<int>(t.left.count()));
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw not_yet(rd_kafka_err2str(err));
        detail::MetadataPtr md(raw);
        if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
            md->topics[0].partition_cnt != partitions) {
          throw not_yet(md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "topic missing");
        }
        for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
          if (md->topics[0].partitions[i].leader < 0) throw not_yet("a partition has no leader");
        }
      });
}

// A client for admin requests (a producer handle, which joins no group).
detail::HandlePtr admin_client(const std::string& brokers, const Properties& extra) {
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", brokers);
  for (const auto& [key, value] : extra) detail::set_property(conf.get(), key, value);
  detail::install_logger(conf.get());
  char err[512];
  detail::HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk) throw InfraError(FailureClass::kFatal, std::string("kafka admin: ") + err);
  conf.release();
  return rk;
}

}  // namespace

void create_topic(const std::string& brokers, const std::string& topic, std::int32_t partitions,
                  std::int16_t replication, std::chrono::milliseconds timeout,
                  const Properties& extra) {
  const auto rk = admin_client(brokers, extra);
  char err[512];

  std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> new_topic(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, replication, err, sizeof err),
      &rd_kafka_NewTopic_destroy);
  if (!new_topic) throw InfraError(FailureClass::kFatal, "topic " + topic + ": " + err);
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(rk.get(), topics, 1, nullptr, queue.get());

  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count())), &rd_kafka_event_destroy);
  if (!event) {
    throw InfraError(FailureClass::kRetryable,
                     "create topic " + topic + ": timed out (is a broker up at " + brokers + "?)");
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kRetryable,
                     "create topic " + topic + ": " + rd_kafka_event_error_string(event.get()));
  }
  std::size_t count = 0;
  const auto* results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto code = rd_kafka_topic_result_error(results[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      ProducerConfig pc;
      pc.brokers = brokers;
      pc.extra = extra;
      Producer probe(pc);
      const auto existing = probe.partition_count(topic, timeout);
      if (existing != partitions) {
        throw InfraError(FailureClass::kFatal, "topic " + topic + " exists with " +
                                                   std::to_string(existing) + " partitions, not " +
                                                   std::to_string(partitions));
      }
      continue;
    }
    throw InfraError(FailureClass::kFatal, "create topic " + topic + ": " +
                                               rd_kafka_topic_result_error_string(results[i]));
  }
  wait_until_visible(rk.get(), topic, partitions, timeout);
}

void delete_topics(const std::string& brokers, const std::vector<std::string>& topics,
                   std::chrono::milliseconds timeout, const Properties& extra) {
  if (topics.empty()) return;
  const auto rk = admin_client(brokers, extra);

  using DeleteTopicPtr =
      std::unique_ptr<rd_kafka_DeleteTopic_t, decltype(&rd_kafka_DeleteTopic_destroy)>;
  std::vector<DeleteTopicPtr> owned;
  std::vector<rd_kafka_DeleteTopic_t*> list;
  for (const auto& t : topics) {
    owned.emplace_back(rd_kafka_DeleteTopic_new(t.c_str()), &rd_kafka_DeleteTopic_destroy);
    list.push_back(owned.back().get());
  }
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_DeleteTopics(rk.get(), list.data(), list.size(), nullptr, queue.get());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count())), &rd_kafka_event_destroy);
  if (!event) {
    throw InfraError(FailureClass::kRetryable,
                     "delete topics: timed out (is a broker up at " + brokers + "?)");
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kRetryable,
                     std::string("delete topics: ") + rd_kafka_event_error_string(event.get()));
  }
  std::size_t count = 0;
  const auto* results =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event.get()), &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto code = rd_kafka_topic_result_error(results[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      continue;
    }
    throw InfraError(FailureClass::kRetryable, std::string("delete topic ") +
                                                   rd_kafka_topic_result_name(results[i]) + ": " +
                                                   rd_kafka_topic_result_error_string(results[i]));
  }
}

void ensure_topic(const std::string& brokers, const std::string& topic, std::int32_t partitions,
                  std::int16_t replication, std::chrono::steady_clock::time_point deadline,
                  const Properties& extra) {
  using std::chrono::milliseconds;
  // A broker still starting answers retryably; each try gets what is left,
  // within bounds, and none starts within a second of the deadline.
  runtime::Retry(runtime::Backoff::fixed(milliseconds(1000)))
      .until(deadline)
      .run([&](const runtime::Try& t) {
        create_topic(brokers, topic, partitions, replication,
                     std::clamp(t.left, milliseconds(1000), milliseconds(10'000)), extra);
      });
}

namespace {

// How long one OffsetFetch wait lasts before `stopping` is asked again.
constexpr std::chrono::milliseconds kCommittedSlice{500};

// Asks the group's coordinator what `group` committed for `list`, filling
// it in. Never subscribes, so it never joins the group. Waits in slices of
// kCommittedSlice on the same handle (a coordinator found in one slice stays
// found for the next), and throws runtime::Stopped between two once
// `stopping` says so: nothing is in flight that a stop would leave half-done.
void fetch_committed(const std::string& brokers, const Properties& extra, const std::string& group,
                     const std::string& topic, rd_kafka_topic_partition_list_t* list,
                     std::chrono::milliseconds timeout,
                     const std::function<bool()>& stopping = {}) {
  using std::chrono::milliseconds;
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", brokers);
  detail::set_property(conf.get(), "client.id", "millrace-offsets");
  detail::set_property(conf.get(), "group.id", group);
  detail::set_property(conf.get(), "enable.auto.commit", "false");
  // OffsetFetch then requires stable offsets: one a transaction still holds
  // open is waited for, not read.
  detail::set_property(conf.get(), "isolation.level", "read_committed");
  detail::set_properties(conf.get(), extra);
  detail::install_logger(conf.get());
  char err[512];
  detail::HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!rk) throw InfraError(FailureClass::kFatal, std::string("kafka offsets client: ") + err);
  conf.release();
  // A slice out of time is tried again, until `timeout` is spent; any
  // other answer ends the wait.
  auto e = RD_KAFKA_RESP_ERR_NO_ERROR;
  try {
    runtime::Retry(runtime::Backoff::fixed(milliseconds(0)))
        .until(std::chrono::steady_clock::now() + timeout)
        .waits_with([&](milliseconds) { return stopping && stopping(); })
        .run([&](const runtime::Try& t) {
          const auto slice = std::clamp(t.left, milliseconds(1), kCommittedSlice);
          e = rd_kafka_committed(rk.get(), list, static_cast<int>(slice.count()));
          if (e == RD_KAFKA_RESP_ERR__TIMED_OUT) {
            throw InfraError(FailureClass::kRetryable, "a slice of the wait ran out");
          }
        });
  } catch (const InfraError&) {
    // Out of time: `e` holds the last slice's timeout.
  }
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw InfraError(FailureClass::kRetryable, "committed offsets of group " + group + " on " +
                                                   topic + ": " + rd_kafka_err2str(e));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw InfraError(FailureClass::kRetryable, "committed offset of group " + group + " on " +
                                                     topic + "[" + std::to_string(tp.partition) +
                                                     "]: " + rd_kafka_err2str(tp.err));
    }
  }
}

}  // namespace

std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& brokers,
                                                       const std::string& group,
                                                       const std::string& topic,
                                                       std::int32_t partitions,
                                                       std::chrono::milliseconds timeout) {
  detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (std::int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  fetch_committed(brokers, {}, group, topic, list.get(), timeout);
  std::map<std::int32_t, std::int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    out[tp.partition] = tp.offset < 0 ? kOffsetInvalid : tp.offset;
  }
  return out;
}

std::optional<CommittedOffset> committed_offset(const std::string& brokers, const Properties& extra,
                                                const std::string& group, const std::string& topic,
                                                std::int32_t partition,
                                                std::chrono::milliseconds timeout,
                                                const std::function<bool()>& stopping) {
  detail::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  fetch_committed(brokers, extra, group, topic, list.get(), timeout, stopping);
  const auto& tp = list->elems[0];
  if (tp.offset < 0) return std::nullopt;
  CommittedOffset out;
  out.offset = tp.offset;
  if (tp.metadata != nullptr) {
    out.metadata.assign(static_cast<const char*>(tp.metadata), tp.metadata_size);
  }
  return out;
}

struct OffsetsClient::State {
  detail::HandlePtr rk;
};

OffsetsClient::OffsetsClient(const std::string& brokers, const Properties& extra)
    : state_(std::make_unique<State>()) {
  detail::ConfPtr conf(rd_kafka_conf_new());
  detail::set_property(conf.get(), "bootstrap.servers", brokers);
  detail::set_property(conf.get(), "client.id", "millrace-offsets");
  for (const auto& [key, value] : extra) {
    // Security and networking settings apply; consumer-only ones would be refused.
    if (key.rfind("security.", 0) == 0 || key.rfind("sasl.", 0) == 0 || key.rfind("ssl.", 0) == 0 ||
        key.rfind("socket.", 0) == 0) {
      detail::set_property(conf.get(), key, value);
    }
  }
  detail::install_logger(conf.get());
  char err[512];
  state_->rk.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!state_->rk)
    throw InfraError(FailureClass::kFatal, std::string("kafka offsets client: ") + err);
  conf.release();
}

OffsetsClient::~OffsetsClient() = default;

std::pair<std::int64_t, std::int64_t> OffsetsClient::watermarks(const std::string& topic,
                                                                std::int32_t partition,
                                                                std::chrono::milliseconds timeout) {
  return detail::query_watermarks(state_->rk.get(), topic, partition, timeout);
}

}  // namespace millrace::kafka
