#pragma once

// Fakes behind the stream loop's ports (src/ports.hpp): a topic whose
// partitions hold numbered records, a consumer group whose assignments the
// test decides, and a database holding stored offsets and committed records
// with PostgreSQL's fencing rule. Each is shared by the loop's threads and
// the test's, so each takes a lock.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "millrace/core/failure.hpp"
#include "ports.hpp"

namespace millrace::stream::testing {

inline constexpr const char* kTopic = "t";

// Waits until `pred` holds, or `timeout` passed; returns whether it holds.
template <typename Pred>
bool within(std::chrono::seconds timeout, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

// The topic's records and which member owns which partitions. A change of
// assignment reaches a member inside its next poll, as a revoke of what it
// had and an assign of what it gets, like librdkafka's eager protocol.
class FakeCluster {
 public:
  explicit FakeCluster(std::map<std::int32_t, std::int64_t> records) : end_(std::move(records)) {}

  std::int64_t end(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return end_.at(partition);
  }
  // The log start: retention deleted the records before it.
  std::int64_t start(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return start_[partition];
  }
  // `n` more records at the end of `partition`, as a producer would add.
  void append(std::int32_t partition, std::int64_t n) {
    std::lock_guard lock(mutex_);
    end_.at(partition) += n;
  }
  // A member's poll was woken (ConsumerPort::wake), and how often.
  void woke(int member) {
    std::lock_guard lock(mutex_);
    ++wakes_[member];
  }
  int wakes(int member) {
    std::lock_guard lock(mutex_);
    return wakes_[member];
  }
  void delete_before(std::int32_t partition, std::int64_t offset) {
    std::lock_guard lock(mutex_);
    start_[partition] = offset;
  }
  // The next fetch of `partition` is reported out of range although the log
  // holds its position (a fetch racing a leader change).
  void report_out_of_range_once(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    spurious_.insert(partition);
  }
  // The next watermarks of `partition` answer `end` as the log's end: a
  // leader cut off from its peers, with a shorter log than theirs.
  void report_end_once(std::int32_t partition, std::int64_t end) {
    std::lock_guard lock(mutex_);
    stale_end_[partition] = end;
  }
  std::optional<std::int64_t> take_stale_end(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    const auto it = stale_end_.find(partition);
    if (it == stale_end_.end()) return std::nullopt;
    const auto end = it->second;
    stale_end_.erase(it);
    return end;
  }
  bool take_spurious(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    return spurious_.erase(partition) > 0;
  }
  void assign(int member, std::vector<std::int32_t> partitions) {
    std::lock_guard lock(mutex_);
    pending_[member] = std::move(partitions);
  }
  // What members read: the next offset a member held when a partition was
  // revoked from it, the first offset it read after it was assigned one,
  // and the highest offset read, + 1.
  void revoked_at(int member, std::int32_t p, std::int64_t next) {
    std::lock_guard lock(mutex_);
    revoked_[{member, p}] = next;
  }
  void read(int member, std::int32_t p, std::int64_t offset) {
    std::lock_guard lock(mutex_);
    first_.try_emplace({member, p}, offset);
    auto& high = read_end_[p];
    high = std::max(high, offset + 1);
  }
  std::optional<std::int64_t> revoked_next(int member, std::int32_t p) {
    std::lock_guard lock(mutex_);
    const auto it = revoked_.find({member, p});
    return it == revoked_.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<std::int64_t> first_read(int member, std::int32_t p) {
    std::lock_guard lock(mutex_);
    const auto it = first_.find({member, p});
    return it == first_.end() ? std::nullopt : std::optional(it->second);
  }
  std::int64_t read_end(std::int32_t p) {
    std::lock_guard lock(mutex_);
    return read_end_[p];
  }

  std::optional<std::vector<std::int32_t>> take_assignment(int member) {
    std::lock_guard lock(mutex_);
    const auto it = pending_.find(member);
    if (it == pending_.end()) return std::nullopt;
    auto out = std::move(it->second);
    pending_.erase(it);
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::int32_t, std::int64_t> end_;
  std::map<std::int32_t, std::int64_t> start_;
  std::set<std::int32_t> spurious_;
  std::map<std::int32_t, std::int64_t> stale_end_;
  std::map<int, std::vector<std::int32_t>> pending_;
  std::map<std::pair<int, std::int32_t>, std::int64_t> revoked_;
  std::map<std::pair<int, std::int32_t>, std::int64_t> first_;
  std::map<std::int32_t, std::int64_t> read_end_;
  std::map<int, int> wakes_;
};

class FakeConsumer final : public detail::ConsumerPort {
 public:
  FakeConsumer(FakeCluster& cluster, int member, kafka::RebalanceListener* listener)
      : cluster_(cluster), member_(member), listener_(listener) {}

  void subscribe(const std::vector<std::string>&) override {}

  std::optional<kafka::Message> poll(std::chrono::milliseconds timeout) override {
    if (auto partitions = cluster_.take_assignment(member_)) rebalance(*partitions);
    for (std::size_t i = 0; i < owned_.size(); ++i) {
      const std::int32_t p = owned_[(next_ + i) % owned_.size()];
      if (paused_.contains(p) || stopped_.contains(p)) continue;
      // As librdkafka with auto.offset.reset=error: the listener is told, and
      // the partition is not fetched again until it is re-assigned.
      if (position_[p] < cluster_.start(p) || position_[p] > cluster_.end(p) ||
          cluster_.take_spurious(p)) {
        stopped_.insert(p);
        listener_->on_offset_out_of_range({kTopic, p, position_[p]});
        return std::nullopt;
      }
      if (position_[p] >= cluster_.end(p)) continue;
      next_ = (next_ + i + 1) % owned_.size();
      const std::int64_t offset = position_[p]++;
      cluster_.read(member_, p, offset);
      return kafka::Message::from_record(
          {kTopic, p, offset, "record " + std::to_string(offset), std::nullopt, 1000, {}});
    }
    // Nothing at hand: waits as librdkafka does, until the timeout (5 ms at
    // most, to keep the tests quick) or a wake().
    std::unique_lock lock(wake_mutex_);
    wake_cv_.wait_for(lock, std::min(timeout, std::chrono::milliseconds(5)),
                      [this] { return woken_; });
    woken_ = false;
    return std::nullopt;
  }
  void wake() override {
    cluster_.woke(member_);
    {
      std::lock_guard lock(wake_mutex_);
      woken_ = true;
    }
    wake_cv_.notify_one();
  }
  void pause(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) paused_.insert(tp.partition);
  }
  void resume(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) paused_.erase(tp.partition);
  }
  bool assign(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) {
      position_[tp.partition] = start_of(tp.offset);
      stopped_.erase(tp.partition);
    }
    return true;
  }
  void commit_async(const std::vector<kafka::TopicPartition>&) override {}
  std::pair<std::int64_t, std::int64_t> watermarks(const std::string&, std::int32_t partition,
                                                   std::chrono::milliseconds) override {
    if (const auto stale = cluster_.take_stale_end(partition)) {
      return {cluster_.start(partition), *stale};
    }
    return {cluster_.start(partition), cluster_.end(partition)};
  }
  std::vector<kafka::TopicPartition> positions(
      const std::vector<kafka::TopicPartition>& partitions) override {
    std::vector<kafka::TopicPartition> out;
    for (const auto& tp : partitions) {
      const auto it = position_.find(tp.partition);
      out.push_back(
          {tp.topic, tp.partition, it == position_.end() ? kafka::kOffsetInvalid : it->second});
    }
    return out;
  }
  void close() override { rebalance({}); }

 private:
  static std::int64_t start_of(std::int64_t offset) {
    return offset == kafka::kOffsetBeginning ? 0 : offset;
  }
  void rebalance(const std::vector<std::int32_t>& partitions) {
    if (!owned_.empty()) {
      std::vector<kafka::TopicPartition> revoked;
      for (const auto p : owned_) {
        revoked.push_back({kTopic, p, kafka::kOffsetInvalid});
        cluster_.revoked_at(member_, p, position_[p]);
      }
      listener_->on_revoke(revoked);
      owned_.clear();
    }
    if (partitions.empty()) return;
    std::vector<kafka::TopicPartition> assigned;
    for (const auto p : partitions) assigned.push_back({kTopic, p, kafka::kOffsetInvalid});
    listener_->on_assign(assigned);
    for (const auto& tp : assigned) {
      owned_.push_back(tp.partition);
      position_[tp.partition] = start_of(tp.offset);
      stopped_.erase(tp.partition);
    }
  }

  FakeCluster& cluster_;
  int member_;
  kafka::RebalanceListener* listener_;
  std::vector<std::int32_t> owned_;
  std::set<std::int32_t> paused_;
  std::set<std::int32_t> stopped_;  // reported out of range, until re-assigned
  std::map<std::int32_t, std::int64_t> position_;
  std::size_t next_ = 0;
  std::mutex wake_mutex_;  // wake() comes from the loop's commit thread
  std::condition_variable wake_cv_;
  bool woken_ = false;
};

// The handler's buffer: the records of its batch.
struct RecordsState final : BatchState {
  std::vector<RecordRef> records;
  void discard(std::int32_t partition) override {
    std::erase_if(records, [&](const RecordRef& r) { return r.partition == partition; });
  }
  std::size_t size() const override { return records.size(); }
  RecordRef record(std::size_t i) const override { return records[i]; }
  std::unique_ptr<BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<RecordsState>();
    out->records.assign(records.begin() + static_cast<std::ptrdiff_t>(begin),
                        records.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
  }
};

// Persists every record, and notes the size of each batch committed.
// write() is never called: the fake database stores what the state holds.
class RecordsHandler final : public Handler {
 public:
  std::unique_ptr<BatchState> open_batch() override { return std::make_unique<RecordsState>(); }
  void handle(const kafka::Message& message, PartitionProgress& progress,
              BatchState& state) override {
    progress.tally.count(core::Outcome::kPersisted, "");
    static_cast<RecordsState&>(state).records.push_back({message.partition(), message.offset()});
  }
  void write(pqxx::work&, Batch&, BatchState&) override {}
  void refuse(Batch&, BatchState&, const std::vector<Refusal>&) override {}
  void after_commit(const Batch& batch, BatchState&) override {
    std::lock_guard lock(mutex);
    committed_sizes.push_back(batch.consumed());
  }

  std::mutex mutex;
  std::vector<std::uint64_t> committed_sizes;  // of each batch committed, in order
};

// consumer_offsets and the stored records, with the fence every commit
// passes: a partition's stored offset must be what the batch's plan expects.
class FakeDatabase {
 public:
  // The next `n` commits fail as a lost connection would.
  void fail_commits(int n) {
    std::lock_guard lock(mutex_);
    fail_ = n;
  }
  // Another member stores `next` for `partition` (with the records up to
  // it), just before commit number `at` (counting from 1).
  void move_offset_before_commit(int at, std::int32_t partition, std::int64_t next) {
    std::lock_guard lock(mutex_);
    moves_[at] = {partition, next};
  }

  // A stored offset from an earlier run.
  void set_stored(std::int32_t partition, std::int64_t next) {
    std::lock_guard lock(mutex_);
    stored_[partition] = next;
  }
  // offset_gaps: fenced on the stored offset like a commit.
  bool record_gap(std::int32_t partition, std::int64_t from, std::int64_t to) {
    std::lock_guard lock(mutex_);
    if (stored_[partition] != from) return false;
    stored_[partition] = to;
    gaps_.push_back({partition, from, to});
    return true;
  }
  struct Gap {
    std::int32_t partition;
    std::int64_t from, to;
  };
  std::vector<Gap> gaps() {
    std::lock_guard lock(mutex_);
    return gaps_;
  }

  std::map<std::int32_t, std::optional<std::int64_t>> claim(const std::vector<std::int32_t>& ps) {
    std::lock_guard lock(mutex_);
    std::map<std::int32_t, std::optional<std::int64_t>> out;
    for (const auto p : ps) out[p] = stored_.try_emplace(p, std::nullopt).first->second;
    return out;
  }

  detail::CommitResult commit(const BatchState& state, const std::vector<OffsetTransition>& plan) {
    std::lock_guard lock(mutex_);
    ++commits_;
    if (fail_ > 0) {
      --fail_;
      throw core::InfraError(core::FailureClass::kRetryable, "server closed the connection");
    }
    if (const auto it = moves_.find(commits_); it != moves_.end()) {
      const auto [p, next] = it->second;
      for (std::int64_t o = stored_[p].value_or(0); o < next; ++o)
        stored_records_.push_back({p, o});
      stored_[p] = next;
    }
    detail::CommitResult result;
    for (const auto& t : plan) {
      if (stored_[t.partition] != t.expected) result.fenced.push_back(t.partition);
    }
    if (!result.fenced.empty()) return result;
    for (const auto& t : plan) stored_[t.partition] = t.next;
    const auto& records = static_cast<const RecordsState&>(state).records;
    stored_records_.insert(stored_records_.end(), records.begin(), records.end());
    return result;
  }

  std::optional<std::int64_t> stored(std::int32_t partition) {
    std::lock_guard lock(mutex_);
    const auto it = stored_.find(partition);
    return it == stored_.end() ? std::nullopt : it->second;
  }
  // How often each (partition, offset) was stored.
  std::map<std::pair<std::int32_t, std::int64_t>, int> stored_records() {
    std::lock_guard lock(mutex_);
    std::map<std::pair<std::int32_t, std::int64_t>, int> out;
    for (const auto& r : stored_records_) ++out[{r.partition, r.offset}];
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::int32_t, std::optional<std::int64_t>> stored_;
  std::vector<RecordRef> stored_records_;
  int commits_ = 0;
  int fail_ = 0;
  std::map<int, std::pair<std::int32_t, std::int64_t>> moves_;
  std::vector<Gap> gaps_;
};

class FakeCommitter final : public detail::CommitPort {
 public:
  explicit FakeCommitter(FakeDatabase& db) : db_(db) {}
  bool prepare_schema(const std::function<bool(std::chrono::milliseconds)>&) override {
    return true;
  }
  void ensure_connected() override {}
  void disconnect() override {}
  void register_group(const std::string&) override {}
  std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions) override {
    return db_.claim(partitions);
  }
  detail::CommitResult commit(Batch&, BatchState& state,
                              const std::vector<OffsetTransition>& plan) override {
    return db_.commit(state, plan);
  }
  bool record_gap(std::int32_t partition, std::int64_t from, std::int64_t to) override {
    return db_.record_gap(partition, from, to);
  }

 private:
  FakeDatabase& db_;
};

}  // namespace millrace::stream::testing
