#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/message_header.hpp"

namespace millrace::kafka {

// A topic the broker does not have (fatal by default: a caller that waits
// for the topic to be made catches this class and retries).
class UnknownTopicError final : public core::InfraError {
 public:
  explicit UnknownTopicError(const std::string& what)
      : core::InfraError(core::FailureClass::kFatal, what) {}
};

// librdkafka's logical offsets, mirrored so callers need not include rdkafka.h.
inline constexpr std::int64_t kOffsetBeginning = -2;
inline constexpr std::int64_t kOffsetEnd = -1;
inline constexpr std::int64_t kOffsetInvalid = -1001;

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = kOffsetInvalid;

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

// A header of a produced message, by view (core's, so a kind's headers need
// no copy).
using OutHeader = core::MessageHeader;

// Extra librdkafka properties ("key" -> "value") applied after ours, so an
// operator can tune anything librdkafka supports without a rebuild.
using Properties = std::map<std::string, std::string>;

// Parses "a=1,b=2" into Properties as core/property_list.hpp reads a list
// ("debug=cgrp,fetch" is one property); the last of a key given twice wins.
// Throws std::invalid_argument when the list does not begin with key=value.
Properties parse_properties(std::string_view text);

// Throws std::invalid_argument naming the first property a consumer group
// member must not be given: the reset policy, the assignor and auto-commit
// (and offset storing) are what exactly-once and gap detection rest on, so
// Consumer sets them itself and an override would silently undo that.
void refuse_consumer_overrides(const Properties& properties);

// The heartbeat interval a group member uses for a session timeout: a tenth
// of it, and never more than 250 ms. A member learns that the group
// rebalances (another joined or left) only from its next heartbeat's answer,
// and the whole group waits for the last to rejoin: at librdkafka's default
// of 3 s a second sink joining halted the first for up to 3 s, and at 1 s
// the first read all four partitions alone for a second of a five-second
// drain (docs/benchmarks.md, issue 40). A heartbeat is a small request to the
// coordinator; four a second per member cost it nothing measurable. Kafka's guidance is at most a
// third of the session, lower for quicker rebalances; a tenth lets nine be lost before the session
// ends. An operator's heartbeat.interval.ms in the extra properties still wins.
std::int32_t heartbeat_interval_ms(std::int32_t session_timeout_ms);

}  // namespace millrace::kafka
