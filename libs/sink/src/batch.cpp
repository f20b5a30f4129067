#include "millrace/sink/batch.hpp"

#include <stdexcept>
#include <string>

namespace millrace::sink {

Decision classify(std::string_view payload, std::optional<std::string_view> event_type_header,
                  const core::FilterConfig& filter) {
  auto parsed = core::parse_event(payload, event_type_header);
  if (auto* rejection = std::get_if<core::Rejection>(&parsed)) {
    return Rejected{std::move(*rejection)};
  }
  auto& event = std::get<core::StoreEvent>(parsed);
  if (const auto reason = core::apply_filter(event, filter)) return Filtered{*reason};
  return Kept{std::move(event)};
}

void Batch::add(std::int32_t partition, std::int64_t offset, std::int64_t timestamp_ms,
                Decision decision) {
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
  if (auto* kept = std::get_if<Kept>(&decision)) {
    ++p.kept;
    rows_.push_back(Row{std::move(kept->event), partition, offset});
  } else if (auto* filtered = std::get_if<Filtered>(&decision)) {
    ++p.filtered[static_cast<std::size_t>(filtered->reason)];
  } else {
    ++p.rejected[static_cast<std::size_t>(std::get<Rejected>(decision).rejection.reason)];
  }
}

void Batch::drop_partition(std::int32_t partition) {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  consumed_ -= it->second.consumed;
  partitions_.erase(it);
  std::erase_if(rows_, [&](const Row& row) { return row.partition == partition; });
}

void Batch::clear() {
  rows_.clear();
  partitions_.clear();
  consumed_ = 0;
}

void OffsetBook::assign(std::int32_t partition, std::optional<std::int64_t> stored) {
  stored_[partition] = stored;
}

void OffsetBook::revoke(std::int32_t partition) { stored_.erase(partition); }

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

void OffsetBook::committed(const std::vector<OffsetTransition>& plan) {
  for (const auto& t : plan) {
    const auto it = stored_.find(t.partition);
    if (it != stored_.end()) it->second = t.next;
  }
}

}  // namespace millrace::sink
