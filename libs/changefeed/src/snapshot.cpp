#include "millrace/changefeed/snapshot.hpp"

namespace millrace::changefeed {

Checkpoint snapshot_checkpoint(Lsn consistent_point) {
  return checkpoint_at(consistent_point - 1, consistent_point);
}

std::string snapshot_reason(const std::string& slot, const std::string& checkpoint_group) {
  return "initial snapshot of slot " + slot + " (checkpoint group " + checkpoint_group + ")";
}

}  // namespace millrace::changefeed
