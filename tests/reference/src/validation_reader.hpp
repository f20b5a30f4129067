#pragma once

// The validator's syntax pass: one SAX parse of a message that keeps the raw
// value of each known top-level member, for the checker to judge.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/reference/contract.hpp"

namespace millrace::core::detail {

enum class Kind : std::uint8_t { kAbsent, kNull, kString, kNumber, kBool, kComposite };
enum class Root : std::uint8_t { kNone, kObject, kArray, kScalar };

struct Slot {
  Kind kind = Kind::kAbsent;
  bool duplicate = false;
  bool boolean = false;
  // String contents or the raw number literal. The parse is in situ, so this
  // points into the thread's reader's copy of the payload and is valid until
  // the thread's next read_body; a view spares a copy of every value.
  // In situ, RapidJSON hands strings and raw numbers over with copy=false
  // (reader.h, ParseString and ParseNumber): they always lie in that buffer.
  std::string_view text;
};

// What the reader kept of one message.
struct ParsedBody {
  std::array<Slot, kFieldCount> slots;
  Root root = Root::kNone;
};

// Parses `payload` with the calling thread's reader, which is reused so its
// buffers keep their capacity. On a syntax error returns its detail text;
// otherwise nullopt, and `body` points at what was read, valid until the
// thread's next read_body.
std::optional<std::string> read_body(std::string_view payload, const ParsedBody*& body);

}  // namespace millrace::core::detail
