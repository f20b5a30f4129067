#pragma once

// What the invalidator needs from Kafka and PostgreSQL, as ports, so its
// rules are unit-tested with fakes (tests/fakes.hpp) and no server.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "millrace/catalog/records.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/pg/xid_snapshot.hpp"

namespace millrace::cache::detail {

using pg::XidSnapshot;

struct FeedRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
};

// The change topic, read from positions the invalidator chooses (no group
// offsets: every start rebuilds from the database).
class Feed {
 public:
  virtual ~Feed() = default;
  // Every partition's end as a read_committed consumer sees it (the last
  // stable offset). Throws core::InfraError (retryable) when Kafka does not
  // answer in time.
  virtual std::vector<kafka::TopicPartition> ends() = 0;
  // Reads on from these positions (replacing any earlier ones).
  virtual void start_at(const std::vector<kafka::TopicPartition>& positions) = 0;
  virtual std::optional<FeedRecord> poll(std::chrono::milliseconds timeout) = 0;
  // The next offset to be read of each partition started (past transaction
  // markers, unlike the last record's offset + 1); kafka::kOffsetInvalid
  // while not yet known.
  virtual std::vector<kafka::TopicPartition> positions() = 0;
};

// The catalog's rows, read in one snapshot.
class Truth {
 public:
  virtual ~Truth() = default;
  // Calls `row` for every category and product, and asset when they are
  // kept (the key column's text and catalog/json.hpp's body), all from one
  // REPEATABLE READ snapshot, and returns that snapshot. Throws
  // core::InfraError.
  using RowSink = std::function<void(catalog::Table, const std::string& key, std::string body)>;
  virtual XidSnapshot load(const RowSink& row) = 0;
};

}  // namespace millrace::cache::detail
