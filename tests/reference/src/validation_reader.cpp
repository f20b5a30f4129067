#include "validation_reader.hpp"

#include "millrace/core/utf8.hpp"
#include "validation_fields.hpp"
#include "validation_json.hpp"

namespace millrace::core::detail {

namespace {

// SAX handler that keeps the raw value of each known top-level member and
// skips everything else. Reused per thread so its strings keep their capacity.
struct EventHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventHandler> {
  ParsedBody body;
  int depth = 0;
  int current = -1;  // known field whose value comes next, -1 for none
  bool too_deep = false;

  void reset() {
    for (Slot& slot : body.slots) {
      slot.kind = Kind::kAbsent;
      slot.duplicate = false;
    }
    body.root = Root::kNone;
    depth = 0;
    current = -1;
    too_deep = false;
  }

  Slot* target() {
    if (depth != 1 || body.root != Root::kObject || current < 0) return nullptr;
    Slot& slot = body.slots[static_cast<std::size_t>(current)];
    current = -1;
    // A repeated key makes the value depend on which parser reads the message
    // (first wins, last wins, or an error), so we refuse to pick one.
    if (slot.kind != Kind::kAbsent) slot.duplicate = true;
    return &slot;
  }

  bool scalar(Kind kind, const char* str, rapidjson::SizeType length, bool boolean) {
    if (depth == 0) {
      body.root = Root::kScalar;
      return true;
    }
    if (Slot* slot = target()) {
      slot->kind = kind;
      slot->boolean = boolean;
      slot->text = str == nullptr ? std::string_view() : std::string_view(str, length);
    }
    return true;
  }

  bool open(Root kind) {
    if (depth == 0) {
      body.root = kind;
    } else if (Slot* slot = target()) {
      slot->kind = Kind::kComposite;
    }
    if (++depth > kMaxDepth) {
      too_deep = true;
      return false;
    }
    return true;
  }

  bool Null() { return scalar(Kind::kNull, nullptr, 0, false); }
  bool Bool(bool b) { return scalar(Kind::kBool, nullptr, 0, b); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy: false in situ*/) {
    return scalar(Kind::kNumber, str, length, false);
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy: false in situ*/) {
    return scalar(Kind::kString, str, length, false);
  }
  bool StartObject() { return open(Root::kObject); }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    if (depth == 1) current = field_index(std::string_view(str, length));
    return true;
  }
  bool EndObject(rapidjson::SizeType /*members*/) {
    --depth;
    return true;
  }
  bool StartArray() { return open(Root::kArray); }
  bool EndArray(rapidjson::SizeType /*elements*/) {
    --depth;
    return true;
  }
};

struct ParserState {
  rapidjson::Reader reader;
  EventHandler handler;
  // The payload's NUL-terminated copy that the in-situ parse works on (and
  // overwrites): an unescaped string is then handed to the handler where it
  // lies instead of being pushed byte by byte onto the reader's stack, the
  // parse's largest cost. Reused per thread, so it keeps its capacity.
  std::string insitu;
};

// RapidJSON's SSE2 scan loads aligned 16-byte blocks and may read up to 15
// bytes past the terminating NUL; the copy's allocation covers them.
constexpr std::size_t kScanSlack = 16;

ParserState& parser_state() {
  thread_local ParserState state;
  return state;
}

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

std::optional<std::string> read_body(std::string_view payload, const ParsedBody*& body) {
  ParserState& state = parser_state();
  body = &state.handler.body;
  const bool plain = is_plain_json_text(payload);
  // JSON text is UTF-8 (RFC 8259); anything else is not JSON at all.
  if (const std::size_t bad = plain ? std::string_view::npos : first_invalid_utf8(payload);
      bad != std::string_view::npos) {
    return "invalid JSON at offset " + std::to_string(bad) + ": invalid UTF-8";
  }
  state.handler.reset();
  state.insitu.reserve(payload.size() + kScanSlack);
  state.insitu.assign(payload);
  rapidjson::InsituStringStream stream(state.insitu.data());
  constexpr unsigned kFlags = kParseFlags | rapidjson::kParseInsituFlag;
  if (plain) {
    state.reader.Parse<kFlags>(stream, state.handler);
  } else {
    // A control character: RapidJSON's SSE2 scan of a string would let
    // 0x1a..0x1f through, which JSON refuses raw. The encoding check (of
    // text already checked) turns the scan off, so each byte is read.
    state.reader.Parse<kFlags | rapidjson::kParseValidateEncodingFlag>(stream, state.handler);
  }
  if (state.reader.HasParseError()) {
    if (state.handler.too_deep) {
      return "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
    }
    return "invalid JSON at offset " + std::to_string(state.reader.GetErrorOffset()) + ": " +
           rapidjson::GetParseError_En(state.reader.GetParseErrorCode());
  }
  // kParseStopWhenDoneFlag stops after the root value; what follows must be
  // whitespace only (checked here rather than by RapidJSON, which takes an
  // embedded NUL byte for the end of input).
  for (std::size_t pos = stream.Tell(); pos < payload.size(); ++pos) {
    if (!is_json_space(payload[pos])) {
      return "invalid JSON at offset " + std::to_string(pos) + ": text after the JSON value";
    }
  }
  return std::nullopt;
}

}  // namespace millrace::core::detail
