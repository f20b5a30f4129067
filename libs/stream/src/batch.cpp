#include "millrace/stream/batch.hpp"

#include <stdexcept>
#include <string>

namespace millrace::stream {

std::uint64_t Tally::total() const {
  std::uint64_t n = 0;
  for (const auto& [key, count] : counts_) n += count;
  return n;
}

void Tally::move(OutcomeKey from, OutcomeKey to, std::uint64_t n) {
  if (n == 0) return;
  const auto it = counts_.find(from);
  if (it == counts_.end() || it->second < n) {
    throw std::logic_error("cannot re-label " + std::to_string(n) + " " +
                           std::string(core::outcome_code(from.first)) +
                           " record(s): fewer were counted");
  }
  if ((it->second -= n) == 0) counts_.erase(it);
  counts_[to] += n;
}

std::uint64_t Tally::of(core::Outcome outcome) const {
  std::uint64_t n = 0;
  for (const auto& [key, count] : counts_) {
    if (key.first == outcome) n += count;
  }
  return n;
}

PartitionProgress& Batch::add(std::int32_t partition, std::int64_t offset,
                              std::int64_t timestamp_ms) {
  auto [it, inserted] = partitions_.try_emplace(partition);
  PartitionProgress& p = it->second;
  if (inserted) {
    p.first_offset = offset;
  } else if (offset < p.next_offset) {
    throw std::logic_error("partition " + std::to_string(partition) + ": offset " +
                           std::to_string(offset) + " after " + std::to_string(p.next_offset - 1) +
                           " in one batch");
  }
  p.next_offset = offset + 1;
  ++p.consumed;
  ++consumed_;
  if (timestamp_ms > p.max_timestamp_ms) p.max_timestamp_ms = timestamp_ms;
  return p;
}

std::optional<std::int64_t> Batch::next_offset(std::int32_t partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return std::nullopt;
  return it->second.next_offset;
}

void Batch::drop_partition(std::int32_t partition) {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  consumed_ -= it->second.consumed;
  partitions_.erase(it);
}

void Batch::clear() {
  read_to_.clear();
  partitions_.clear();
  consumed_ = 0;
}

namespace {

void refuse_while_committing(bool committing, const char* what, std::int32_t partition) {
  if (committing) {
    throw std::logic_error(std::string(what) + " partition " + std::to_string(partition) +
                           " while a commit is in flight");
  }
}

}  // namespace

void OffsetBook::assign(std::int32_t partition, std::optional<std::int64_t> stored) {
  refuse_while_committing(committing(), "assign", partition);
  stored_[partition] = stored;
}

void OffsetBook::revoke(std::int32_t partition) {
  refuse_while_committing(committing(), "revoke", partition);
  stored_.erase(partition);
}

std::optional<std::int64_t> OffsetBook::stored(std::int32_t partition) const {
  const auto it = stored_.find(partition);
  return it == stored_.end() ? std::nullopt : it->second;
}

std::vector<std::int32_t> OffsetBook::partitions() const {
  std::vector<std::int32_t> out;
  for (const auto& [partition, _] : stored_) out.push_back(partition);
  return out;
}

std::vector<OffsetTransition> OffsetBook::plan(const Batch& batch) const {
  if (committing()) throw std::logic_error("planning a batch while another one commits");
  std::vector<OffsetTransition> out;
  for (const auto& [partition, progress] : batch.partitions()) {
    const auto it = stored_.find(partition);
    if (it == stored_.end()) {
      throw std::logic_error("batch holds partition " + std::to_string(partition) +
                             " which is not assigned");
    }
    if (it->second && progress.first_offset < *it->second) {
      throw std::logic_error("partition " + std::to_string(partition) + ": batch starts at " +
                             std::to_string(progress.first_offset) + " below stored offset " +
                             std::to_string(*it->second));
    }
    out.push_back({partition, it->second, progress.next_offset});
  }
  return out;
}

void OffsetBook::begin_commit(std::vector<OffsetTransition> plan) {
  if (committing()) throw std::logic_error("a second commit while one is in flight");
  in_flight_ = std::move(plan);
}

std::vector<OffsetTransition> OffsetBook::committed() {
  if (!committing()) throw std::logic_error("no commit in flight");
  auto plan = std::move(*in_flight_);
  in_flight_.reset();
  for (const auto& t : plan) {
    const auto it = stored_.find(t.partition);
    if (it != stored_.end()) it->second = t.next;
  }
  return plan;
}

std::optional<std::int64_t> OffsetBook::resume_offset(std::int32_t partition) const {
  if (in_flight_) {
    for (const auto& t : *in_flight_) {
      if (t.partition == partition) return t.next;
    }
  }
  return stored(partition);
}

}  // namespace millrace::stream
