#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/changefeed/choices.hpp"
#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/outbox.hpp"

namespace millrace::changefeed {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct ChangefeedSettings {
  std::string transactional_id;
  std::string checkpoint_group;
  std::int64_t max_batch_changes = 50'000;
  std::int64_t max_batch_bytes = 33'554'432;
  std::int64_t linger_ms = 50;
  std::int64_t status_interval_ms = 10'000;
  std::int64_t transaction_timeout_ms = 60'000;
  Snapshot snapshot = Snapshot::kNever;
  std::int64_t backfill_poll_ms = 1000;
  SlotLost on_slot_lost = SlotLost::kStop;
  std::int64_t backfill_chunk_size = 10'000;
  Format format = Format::kMillrace;
  bool schemas = false;
  debezium::DecimalMode decimal_handling = debezium::DecimalMode::kPrecise;
  bool topic_per_table = false;
  bool tombstones = true;
  bool truncates = true;
  bool transaction_metadata = false;
  // The outbox format's (outbox.hpp), each as Debezium's EventRouter names it.
  std::string outbox_id_column = "id";
  std::string outbox_key_column = "aggregateid";
  std::string outbox_payload_column = "payload";
  std::string outbox_timestamp_column;  // none: the time the event is produced
  std::string outbox_route_by = "aggregatetype";
  std::string outbox_topic_regex = "(?<routedByValue>.*)";
  std::string outbox_topic = "outbox.event.${routedByValue}";
  std::int64_t outbox_partitions = 0;  // 0: --topic's count
  bool outbox_tombstone_on_empty_payload = false;
  std::vector<std::string> outbox_additional_fields;
  bool outbox_expand_json_payload = false;
  outbox::InvalidOp outbox_invalid_op = outbox::InvalidOp::kWarn;
};

}  // namespace millrace::changefeed
