// Stalls: a partition the probe saw stall with nothing to explain it is
// re-armed from its stored offset.
#include <string>

#include "loop.hpp"

namespace millrace::stream {

// A partition stalled with nothing to explain it: not halted, no reset
// under way (a database or dead-letter failure), no commit in flight. Its
// fetching is stuck, so it is re-armed from the stored offsets; a stall the
// log and the metric keep showing after that is not the consumer's.
void TransactionalConsumer::Loop::rearm_stalled() {
  const auto stalled = probe_.take_stalled();
  if (stalled.empty() || resetting_) return;
  std::string names;
  for (const auto p : stalled) {
    if (book_.owns(p) && !halted_.contains(p)) {
      names += " " + detail::tp_name(config_.kafka.topic, p);
    }
  }
  if (names.empty()) return;
  drain();
  if (resetting_) return;  // the commit failed: the reset repositions everything
  runtime::log_warn(component_, "no progress on" + names + " with nothing in flight for " +
                                    std::to_string(config_.stall_timeout_s) +
                                    " s; re-assigning from the stored offsets");
  bump([](StreamStats& s) { ++s.rearms; });
  reassign();
}

}  // namespace millrace::stream
