// The group's rebalances: partitions assigned (positioned on the offsets
// PostgreSQL stored) and revoked (what was read committed while they are
// still ours), and the loop's own re-assignments from the stored offsets.
#include <string>

#include "loop.hpp"

namespace millrace::stream {

using detail::tp_name;

void TransactionalConsumer::Loop::on_assign(std::vector<kafka::TopicPartition>& partitions) {
  const RebalanceScope scope(in_rebalance_);
  bump([](StreamStats& s) { ++s.rebalances; });
  // The connection is the commit thread's until its commit is settled.
  settle();
  std::vector<std::int32_t> ids;
  for (const auto& tp : partitions) ids.push_back(tp.partition);
  const auto stored =
      with_retry("read stored offsets", [&] { return batch_committer_->claim(ids); });
  std::string text = "assigned";
  for (auto& tp : partitions) {
    const auto& offset = stored.at(tp.partition);
    tp.offset = offset.value_or(kafka::kOffsetBeginning);
    book_.assign(tp.partition, offset);
    probe_.set_position(tp.partition, offset);
    text += " " + tp_name(tp.topic, tp.partition) + "@" +
            (offset ? std::to_string(*offset) : std::string("beginning"));
  }
  probe_.assigned(ids, true);
  probe_.owned(book_.partitions().size());
  runtime::log_info(component_, text);
}

void TransactionalConsumer::Loop::on_revoke(const std::vector<kafka::TopicPartition>& partitions) {
  const RebalanceScope scope(in_rebalance_);
  bump([](StreamStats& s) { ++s.rebalances; });
  if (!abandoning_) {
    // Commit what we have while the partitions are still ours; if that
    // fails the next owner consumes those records again from the stored
    // offsets.
    drain();
    commit_kafka(true);  // while the partitions are still ours
  }
  std::vector<std::int32_t> ids;
  std::vector<kafka::TopicPartition> unhalt;
  for (const auto& tp : partitions) {
    forget_reads({tp.partition});
    batch_.drop_partition(tp.partition);
    state_->discard(tp.partition);
    book_.revoke(tp.partition);
    if (halted_.erase(tp.partition) != 0) unhalt.push_back(tp);
    ids.push_back(tp.partition);
  }
  // librdkafka keeps an application pause across unassign and assign: lift
  // it now, while the assignment stands (the unassign after this callback
  // is ordered behind it), or the partition would come back paused.
  if (!unhalt.empty()) consumer_->resume(unhalt);
  probe_.assigned(ids, false);
  probe_.owned(book_.partitions().size());
  runtime::log_info(component_, "revoked " + std::to_string(partitions.size()) + " partition(s)");
}

// Every owned partition again from its stored offset (halted ones too:
// their pause outlives the assignment). Only with the batch empty and no
// commit in flight, so that the stored offsets are where reading resumes.
// False when the group has dropped this member: its revocation and next
// assignment (on_assign, from the stored offsets too) do it instead.
bool TransactionalConsumer::Loop::reassign() {
  std::vector<kafka::TopicPartition> positions;
  forget_reads(book_.partitions());
  for (const auto p : book_.partitions()) {
    positions.push_back(
        {config_.kafka.topic, p, book_.stored(p).value_or(kafka::kOffsetBeginning)});
  }
  return consumer_->assign(positions);
}

}  // namespace millrace::stream
