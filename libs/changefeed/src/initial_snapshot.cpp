#include "initial_snapshot.hpp"

#include "millrace/changefeed/snapshot.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;

Checkpoint start_initial_snapshot(const ChangefeedConfig& config, PgStream& stream,
                                  KafkaPublisher& publisher, PgBackfillSource& backfills) {
  const auto refused = backfills.refusals([&](const Relation& r) { return stream.primary_key(r); });
  if (!refused.empty()) {
    std::string why;
    for (const auto& r : refused) why += (why.empty() ? "" : "; ") + r;
    throw InfraError(FailureClass::kFatal, "the initial snapshot cannot run: " + why);
  }
  if (stream.slot_exists()) {
    runtime::log_warn("changefeed", "slot " + config.slot +
                                        " exists but nothing was published from it: dropping it "
                                        "to start the snapshot with a new one");
    try {
      stream.drop_slot();
    } catch (const InfraError& e) {
      // Another session still holds it (an older feed, fenced but not yet
      // gone): it lets go when it fails.
      throw InfraError(FailureClass::kRetryable, e.what());
    }
  }
  const Lsn start = stream.create_slot();
  const auto tables = backfills.published();
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t->schema + "." + t->name);
  const auto ids = backfills.request(names, snapshot_reason(config.slot, config.checkpoint_group),
                                     config.backfill_chunk_size);
  const Checkpoint first = snapshot_checkpoint(start);
  publisher.publish({}, first);
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) {
    list += (i == 0 ? "" : ", ") + names[i] + " (backfill " + std::to_string(ids[i]) + ")";
  }
  runtime::log_info("changefeed", "initial snapshot of publication " + config.publication +
                                      " from " + format_lsn(start) + ": " +
                                      (list.empty() ? "no tables" : list));
  return first;
}

}  // namespace millrace::changefeed
