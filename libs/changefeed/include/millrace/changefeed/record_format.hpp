#pragma once

// What the feed writes to Kafka for a change: one or more records, each
// with its topic, key, value and headers. A format is chosen per feed
// (--format): Millrace's own (change.hpp, one record per change) or
// Debezium's (debezium.hpp). Both go through the same Kafka transactions,
// so exactly once for read_committed consumers holds for either.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/changefeed/assembler.hpp"
#include "millrace/changefeed/change.hpp"

namespace millrace::changefeed {

struct OutRecord {
  std::string topic;
  std::optional<std::string> key;    // nullopt: a null key
  std::optional<std::string> value;  // nullopt: a tombstone
  std::vector<std::pair<std::string, std::string>> headers;
  // Milliseconds since the Unix epoch; 0: the time it is produced.
  std::int64_t timestamp_ms = 0;
};

class RecordFormat {
 public:
  virtual ~RecordFormat() = default;
  // Appends the records of `change` to `out`, in the order they are to be
  // published. Throws DecodeError for a row it cannot encode, and
  // core::InfraError when what it asks of the database fails.
  virtual void encode(const Change& change, std::vector<OutRecord>& out) = 0;
  // Around each transaction's changes: records a format writes for the
  // transaction itself (Debezium's transaction metadata).
  virtual void begin(const Transaction& /*tx*/, std::vector<OutRecord>& /*out*/) {}
  virtual void end(const Transaction& /*tx*/, std::vector<OutRecord>& /*out*/) {}
};

// The header every record carries with its change's id (change_id()).
inline constexpr std::string_view kChangeIdHeader = "millrace.change_id";

// Millrace's format: one record per change to `topic`, keyed by kafka_key()
// and valued by to_json().
std::unique_ptr<RecordFormat> millrace_format(std::string topic);

}  // namespace millrace::changefeed
