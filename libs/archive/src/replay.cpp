#include "millrace/archive/replay.hpp"

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>

#include "downloads.hpp"
#include "millrace/archive/reader.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kafka/producer.hpp"

namespace millrace::archive {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kMetadataTimeout{10000};
// Reading the target stops when no record came for this long although its
// end was not reached (a broker that stopped answering).
constexpr auto kScanIdle = std::chrono::seconds(60);

class NoRebalance final : public kafka::RebalanceListener {
 public:
  void on_assign(std::vector<kafka::TopicPartition>&) override {}
  void on_revoke(const std::vector<kafka::TopicPartition>&) override {}
};

std::int64_t to_int(std::string_view text) {
  std::int64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return text.empty() ? -1 : v;
}

// The source records the target already holds, by their replay headers:
// (source partition, source offset) of `source_topic`.
std::set<std::pair<std::int32_t, std::int64_t>> already_replayed(
    const ReplayRequest& r, const std::set<std::int32_t>& partitions) {
  std::set<std::pair<std::int32_t, std::int64_t>> out;
  NoRebalance listener;
  kafka::Consumer consumer(kafka::follower_config(r.kafka, "millrace-archive-replay"), &listener);
  const auto count = consumer.partition_count(r.target_topic, kMetadataTimeout);
  if (!partitions.empty() && *partitions.rbegin() >= count) {
    throw std::runtime_error("topic " + r.target_topic + " has " + std::to_string(count) +
                             " partition(s); the archive's records go to partition " +
                             std::to_string(*partitions.rbegin()) +
                             " (their original one): create it with at least " +
                             std::to_string(*partitions.rbegin() + 1));
  }
  std::map<std::int32_t, std::int64_t> end;
  for (const auto& tp : consumer.end_offsets(r.target_topic, count, kMetadataTimeout)) {
    if (partitions.contains(tp.partition) && tp.offset > 0) end[tp.partition] = tp.offset;
  }
  if (end.empty()) return out;
  std::vector<kafka::TopicPartition> assignment;
  for (const auto& [p, e] : end) assignment.push_back({r.target_topic, p, kafka::kOffsetBeginning});
  consumer.assign(assignment);
  auto last_record = Clock::now();
  while (!end.empty()) {
    auto msg = consumer.poll(milliseconds(200));
    if (!msg) {
      if (Clock::now() - last_record > kScanIdle) {
        throw core::InfraError(core::FailureClass::kRetryable,
                               "reading " + r.target_topic +
                                   " to find what it already holds: no record for 60 s before "
                                   "its end");
      }
      // Past the last record (transaction markers): the position says.
      for (const auto& tp : consumer.positions(assignment)) {
        const auto it = end.find(tp.partition);
        if (it != end.end() && tp.offset >= it->second) end.erase(it);
      }
      continue;
    }
    last_record = Clock::now();
    if (msg->header(kReplayTopicHeader) == std::optional<std::string_view>(r.source_topic)) {
      const auto p = msg->header(kReplayPartitionHeader);
      const auto o = msg->header(kReplayOffsetHeader);
      if (p && o) out.emplace(static_cast<std::int32_t>(to_int(*p)), to_int(*o));
    }
    const auto it = end.find(msg->partition());
    if (it != end.end() && msg->offset() + 1 >= it->second) end.erase(it);
  }
  consumer.close();
  return out;
}

}  // namespace

ReplaySummary replay(const ReplayRequest& r, const std::vector<ArchivedFile>& files,
                     const std::function<void(const ReplayProgress&)>& progress,
                     const std::atomic<bool>& stop) {
  ReplaySummary summary;
  summary.files = files.size();
  // The archive first: a file that is not what was recorded replays nothing.
  std::set<std::int32_t> partitions;
  detail::Downloads local(*r.store, r.download_dir);
  for (const auto& f : files) {
    if (local.fetch(f.path) != f.sha256) {
      throw std::runtime_error(r.store->describe() + " " + f.path +
                               " does not match its checksum in archive_files; nothing "
                               "was replayed (run `millrace archive verify`)");
    }
    partitions.insert(f.partition);
  }
  const auto present = already_replayed(r, partitions);

  auto& p = summary.progress;
  std::atomic<std::uint64_t> delivered{0}, failed{0};
  std::string first_error;
  kafka::ProducerConfig config;
  config.brokers = r.kafka.brokers;
  config.client_id = r.kafka.client_id;
  config.extra = r.kafka.extra;
  config.on_delivery = [&](const kafka::Delivery& d) {
    if (d.ok) {
      ++delivered;
    } else {
      if (failed++ == 0) first_error = std::string(d.error);
    }
  };
  kafka::Producer producer(config);
  const auto report = [&] {
    p.delivered = delivered;
    p.failed = failed;
    if (progress) progress(p);
  };
  // In range: counted first, so progress knows the whole.
  const auto in_range = [&](const CaptureRecord& rec) {
    return (!r.from_ms || rec.timestamp_ms >= *r.from_ms) &&
           (!r.to_ms || rec.timestamp_ms < *r.to_ms);
  };
  for (const auto& f : files) {
    read_capture_file(local.path(f.path), [&](CaptureRecord&& rec) {
      if (in_range(rec)) ++p.total;
    });
  }
  auto next_report = Clock::now();
  for (const auto& f : files) {
    if (stop) break;
    const auto path = local.path(f.path);
    read_capture_file(path, [&](CaptureRecord&& rec) {
      if (stop || !in_range(rec)) return;
      if (rec.partition != f.partition || rec.topic != r.source_topic) {
        throw std::runtime_error(path + ": offset " + std::to_string(rec.offset) +
                                 " says it is of " + rec.topic + "[" +
                                 std::to_string(rec.partition) + "], its row says " +
                                 r.source_topic + "[" + std::to_string(f.partition) + "]");
      }
      if (present.contains({rec.partition, rec.offset})) {
        ++p.skipped;
        return;
      }
      const std::string partition = std::to_string(rec.partition);
      const std::string offset = std::to_string(rec.offset);
      std::vector<kafka::OutHeader> headers;
      headers.reserve(rec.headers.size() + 4);
      for (const auto& [name, value] : rec.headers) headers.push_back({name, value});
      headers.push_back({kReplayTopicHeader, r.source_topic});
      headers.push_back({kReplayPartitionHeader, partition});
      headers.push_back({kReplayOffsetHeader, offset});
      headers.push_back({kReplayFileHeader, f.path});
      producer.produce(r.target_topic, rec.partition,
                       rec.key ? std::string_view(*rec.key) : std::string_view(),
                       rec.body ? std::string_view(*rec.body) : std::string_view(), headers);
      ++p.sent;
      producer.poll();
      if (Clock::now() >= next_report) {
        report();
        next_report = Clock::now() + milliseconds(200);
      }
    });
  }
  while (producer.flush(milliseconds(1000)) > 0) report();
  report();
  summary.first_error = first_error;
  return summary;
}

}  // namespace millrace::archive
