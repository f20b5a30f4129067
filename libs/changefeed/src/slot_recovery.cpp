#include "slot_recovery.hpp"

#include <chrono>

#include "millrace/changefeed/lsn.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::changefeed {

namespace {

constexpr const char* kComponent = "changefeed";

std::int64_t now_pg_us() {
  const auto unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  return pg_us_from_unix(unix_us);
}

}  // namespace

Checkpoint recover_lost_slot(const ChangefeedConfig& config, PgStream& stream,
                             KafkaPublisher& publisher, PgBackfillSource& backfills,
                             const Checkpoint& published) {
  Checkpoint marked = published;
  if (marked.slot_lost_from == 0) {
    marked.slot_lost_from = published.end_lsn;
    publisher.publish({}, marked);
  }
  const Lsn from = marked.slot_lost_from;
  runtime::log_warn(kComponent, "replication slot " + config.slot +
                                    (stream.slot_exists() ? " was invalidated" : " is gone") +
                                    ": changes committed after " + format_lsn(from) +
                                    " cannot be streamed; replacing it and backfilling every "
                                    "published table (--on-slot-lost=backfill)");

  const auto tables = backfills.published();
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t->schema + "." + t->name);
  const auto ids = backfills.request(
      names, "slot " + config.slot + " lost after " + format_lsn(from), config.backfill_chunk_size);

  Lsn to = 0;
  if (stream.slot_exists() && !stream.slot_lost()) {
    to = stream.slot_confirmed();  // made by this recovery before a restart
  } else {
    if (stream.slot_exists()) stream.drop_slot();
    to = stream.create_slot();
  }

  Transaction gaps;
  gaps.commit_lsn = to - 1;
  gaps.end_lsn = to;
  gaps.commit_time_pg_us = now_pg_us();
  for (std::size_t i = 0; i < tables.size(); ++i) {
    Change g;
    g.op = Op::kGap;
    g.relation = tables[i];
    g.source.commit_lsn = gaps.commit_lsn;
    g.source.commit_time_pg_us = gaps.commit_time_pg_us;
    g.source.seq = static_cast<std::uint32_t>(i);
    g.source.backfill = ids.at(i);
    g.marker = Marker{0, "", from, to};
    gaps.changes.push_back(std::move(g));
  }
  Checkpoint after = checkpoint_at(gaps.commit_lsn, gaps.end_lsn);
  after.backfill = published.backfill;
  after.backfill_finished = published.backfill_finished;
  publisher.publish({gaps}, after);
  runtime::log_warn(kComponent, "replaced replication slot " + config.slot + ": changes between " +
                                    format_lsn(from) + " and " + format_lsn(to) +
                                    " are not published; " + std::to_string(tables.size()) +
                                    " table(s) will be backfilled");
  return after;
}

}  // namespace millrace::changefeed
