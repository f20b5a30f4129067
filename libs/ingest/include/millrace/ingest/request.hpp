#pragma once

// The pure pieces of POST /v1/events: body splitting, the ack parameter and
// the response JSON. No I/O, so each is unit-tested alone. Content types,
// the bearer check and query parameters are millrace/httpd/request.hpp's.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/httpd/request.hpp"

namespace millrace::ingest {

// Cuts a body into the texts of its events, as views into `body` (so each
// event keeps the exact bytes it was sent with):
// - kJson: a body whose first non-blank byte is '[' is an array and each
//   element is one event; anything else is one event (whatever it is: the
//   validator says what is wrong with it).
// - kNdjson: each line that is not blank is one event; a trailing '\r' is cut.
// Only the array's own punctuation is checked here; each element is
// validated on its own later, so one bad element does not sink the others.
// Returns why the body as a whole is unusable (empty, an unterminated array,
// a missing comma...), or nullopt with `events` filled.
std::optional<std::string> split_body(std::string_view body, httpd::BodyFormat format,
                                      std::vector<std::string_view>& events);

enum class AckMode : std::uint8_t {
  kAll,   // answer once Kafka acknowledged every accepted event
  kNone,  // answer once they are queued
};
// The ?ack= parameter: absent or "all", or "none"; nullopt for anything else.
std::optional<AckMode> parse_ack(std::optional<std::string_view> value);

enum class EventStatus : std::uint8_t {
  kAccepted,  // acknowledged by Kafka (partition and offset known)
  kQueued,    // handed to the producer (?ack=none)
  kRejected,  // invalid: never sent; do not retry unchanged
  kFailed,    // valid, but not (known to be) in Kafka: retry
};
inline constexpr std::size_t kEventStatusCount = 4;

// One event's line in the response. Views must outlive the call that writes.
struct EventResult {
  std::int32_t index = 0;  // position in the request, from 0
  EventStatus status = EventStatus::kRejected;
  std::string_view id;          // the event's id when it was valid
  std::int32_t partition = -1;  // -1: unknown
  std::int64_t offset = -1;     // -1: unknown
  std::string_view reason;      // rejected / failed: a code
  std::string_view field;       // rejected: the offending field, may be empty
  std::string_view detail;      // rejected / failed: for humans
};

struct ResultCounts {
  std::size_t accepted = 0;  // accepted or queued
  std::size_t rejected = 0;
  std::size_t failed = 0;
};
ResultCounts count_results(std::span<const EventResult> results);

// Appends {"accepted":N,"rejected":M[,"failed":K],"results":[...]}; "failed"
// appears only when some event failed.
void append_results_json(std::string& out, std::span<const EventResult> results);

// Appends {"error":"<code>","detail":"..."}: the body of a response about the
// request as a whole (401, 404, 405, 413, 415, a body that cannot be split).
void append_error_json(std::string& out, std::string_view error, std::string_view detail);

}  // namespace millrace::ingest
