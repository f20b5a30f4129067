#include "read_marks.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>

#include "millrace/kafka/consumer.hpp"

namespace millrace::webhooks::detail {

namespace {

constexpr std::chrono::milliseconds kKafkaTimeout{5000};

class KafkaEndOffsets final : public EndOffsets {
 public:
  explicit KafkaEndOffsets(const kafka::KafkaClientOptions& kafka)
      : topic_(kafka.topic), kafka_(kafka) {}

  std::map<std::int32_t, std::int64_t> ends() override {
    // Made at first use, by then the service's own consumer has started:
    // a bad setting is reported there, where startup errors are.
    if (!consumer_) {
      auto config = kafka::follower_config(kafka_, "millrace-webhooks-ends");
      // The log's end (the high watermark), not the last stable offset:
      // read_marks.hpp says why. An operator's setting does not change it.
      config.extra["isolation.level"] = "read_uncommitted";
      consumer_ = std::make_unique<kafka::Consumer>(config, nullptr);
    }
    // The partition count is asked each time, so that partitions added to
    // the topic are marked from then on; and at the same time as the ends
    // of the partitions the last call counted, not before them: one round
    // trip to the brokers instead of two while the batch's transaction
    // waits (at 2,000 commits/s the count's alone took 2 ms at the median
    // and 20 at the 99th percentile).
    return ends_counted(
        [this] {
          try {
            return consumer_->partition_count(topic_, kKafkaTimeout);
          } catch (const kafka::UnknownTopicError& e) {
            // Waited for, as the consumer waits for it: /readyz names it.
            throw core::InfraError(core::FailureClass::kRetryable, e.what());
          }
        },
        [this](std::int32_t partitions) {
          std::map<std::int32_t, std::int64_t> out;
          for (const auto& tp : consumer_->end_offsets(topic_, partitions, kKafkaTimeout)) {
            out[tp.partition] = tp.offset;
          }
          return out;
        },
        counted_);
  }

 private:
  std::string topic_;
  kafka::KafkaClientOptions kafka_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::int32_t counted_ = 0;  // partitions, as the last call found them
};

}  // namespace

std::map<std::int32_t, std::int64_t> ends_counted(
    const std::function<std::int32_t()>& count,
    const std::function<std::map<std::int32_t, std::int64_t>(std::int32_t)>& ends_of,
    std::int32_t& counted) {
  auto asked = std::async(std::launch::async, count);
  std::map<std::int32_t, std::int64_t> ends;
  std::exception_ptr failed;
  if (counted > 0) {
    try {
      ends = ends_of(counted);
    } catch (const std::exception&) {
      failed = std::current_exception();  // perhaps a partition that is gone
    }
  }
  if (const auto n = asked.get(); n != counted) {
    counted = n;
    return ends_of(n);
  }
  if (failed) std::rethrow_exception(failed);
  return ends;
}

std::unique_ptr<EndOffsets> make_kafka_end_offsets(const kafka::KafkaClientOptions& kafka) {
  return std::make_unique<KafkaEndOffsets>(kafka);
}

std::vector<Mark> marks_for(const std::map<std::int32_t, std::int64_t>& ends,
                            const std::map<std::int32_t, std::int64_t>& read_to,
                            const std::map<std::int32_t, std::string>& last_ids) {
  std::vector<Mark> out;
  for (const auto& [partition, end] : ends) {
    Mark m;
    m.partition = partition;
    if (const auto it = last_ids.find(partition); it != last_ids.end()) m.last_id = it->second;
    const auto at = read_to.find(partition);
    m.at_end = at != read_to.end() && at->second >= end;
    out.push_back(std::move(m));
  }
  return out;
}

ReadMarks::ReadMarks(std::string group, std::string topic, std::unique_ptr<EndOffsets> ends)
    : group_(std::move(group)), topic_(std::move(topic)), ends_(std::move(ends)) {}

ReadMarks::Ends ReadMarks::ask_ends() {
  return std::async(std::launch::async, [this] {
    std::lock_guard lock(ends_mutex_);
    return ends_->ends();
  });
}

RowsWritten ReadMarks::write(pqxx::work& tx, Ends& ends,
                             const std::map<std::int32_t, std::int64_t>& read_to,
                             const std::map<std::int32_t, std::string>& last_ids, BatchRows rows) {
  rows.wake_on_enqueue = true;
  // A batch that does not commit is written again, marks and all.
  return write_marked(tx, std::move(rows), ends.get(), read_to, last_ids);
}

RowsWritten ReadMarks::write_marked(pqxx::work& tx, BatchRows rows,
                                    const std::map<std::int32_t, std::int64_t>& ends,
                                    const std::map<std::int32_t, std::int64_t>& read_to,
                                    const std::map<std::int32_t, std::string>& last_ids) {
  rows.marks = marks_for(ends, read_to, last_ids);
  auto out = write_rows(tx, group_, topic_, rows);
  if (out.at_end) found_at_end(out.now);
  return out;
}

void ReadMarks::found_at_end(const std::string& when) {
  std::lock_guard lock(mutex_);
  // The later of two: the batch's writes and the marker's may cross. Both
  // are PostgreSQL's text of a timestamptz in the same session settings,
  // which sorts as the times do ('+' of the offset sorts before '.' and
  // the digits when the fraction is shorter).
  if (when > last_at_end_) last_at_end_ = when;
}

void ReadMarks::idle(const std::map<std::int32_t, std::int64_t>& read_to) {
  std::lock_guard lock(mutex_);
  if (idle_ == read_to) return;
  idle_ = read_to;
  ++idle_seq_;
}

// mutex_ is held only to read and update the idle state, not across the
// transaction: a batch's write() waited for the whole of it (the Kafka ends
// included) when the two met.
bool ReadMarks::write_idle(pqxx::connection& connection) {
  std::map<std::int32_t, std::int64_t> positions;
  std::uint64_t seq = 0;
  std::string since;  // empty: write the marks whether deliveries wait or not
  {
    std::lock_guard lock(mutex_);
    if (!idle_) return false;
    positions = *idle_;
    seq = idle_seq_;
    if (idle_seq_ == idle_written_) since = last_at_end_;
  }
  pqxx::work tx(connection);
  if (!since.empty()) {
    // Nothing new read here: only deliveries enqueued since may wait on it.
    const bool waiting = tx.exec_params1(
                               "SELECT EXISTS (SELECT 1 FROM webhook_deliveries "
                               "WHERE status = 'pending' AND enqueued_at > $1::timestamptz)",
                               since)[0]
                             .as<bool>();
    if (!waiting) return false;
  }
  // The transaction's start (the marks' time) is its BEGIN's, answered
  // before the ends are asked below.
  std::map<std::int32_t, std::int64_t> asked;
  {
    std::lock_guard ends_lock(ends_mutex_);
    asked = ends_->ends();
  }
  const bool at_end = write_marked(tx, {}, asked, positions, {}).at_end;
  tx.commit();
  std::lock_guard lock(mutex_);
  idle_written_ = std::max(idle_written_, seq);
  return at_end;
}

}  // namespace millrace::webhooks::detail
