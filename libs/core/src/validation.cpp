#include "millrace/core/validation.hpp"

#include <arpa/inet.h>

#include "millrace/core/contract.hpp"
#include "millrace/core/enum_names.hpp"

// RapidJSON scans strings and whitespace 16 bytes at a time with SSE2, which
// every x86-64 CPU has; without the macro it goes byte by byte. Only this file
// includes RapidJSON in the libraries.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

#include "decimal_parse.hpp"
#include "event_json.hpp"

namespace millrace::core {

namespace {

constexpr EnumNames<RejectReason, kRejectReasonCount> kReasonCodes({
    {RejectReason::kInvalidJson, "invalid_json"},
    {RejectReason::kNotAnObject, "not_an_object"},
    {RejectReason::kMissingField, "missing_field"},
    {RejectReason::kWrongType, "wrong_type"},
    {RejectReason::kOutOfRange, "out_of_range"},
    {RejectReason::kInvalidFormat, "invalid_format"},
    {RejectReason::kMissingEventType, "missing_event_type"},
    {RejectReason::kUnknownEventType, "unknown_event_type"},
    {RejectReason::kEventTypeMismatch, "event_type_mismatch"},
});

}  // namespace

std::string_view reason_code(RejectReason reason) {
  return kReasonCodes.name(reason);
}

namespace {

// Store events are flat; nesting only occurs inside unknown fields. The
// bound keeps the recursive parser's stack use small whatever a sender does.
constexpr int kMaxDepth = 64;
// Offending values are quoted in details up to this many bytes.
constexpr std::size_t kMaxQuotedBytes = 40;

// No kParseValidateEncodingFlag: RapidJSON validates byte by byte, which is
// slow; first_invalid_utf8 checks the payload up front, eight bytes at a time.
constexpr unsigned kParseFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag;

// The field names, in contract order (core/contract.hpp).
constexpr std::array<std::string_view, kFieldCount> kFieldNames = [] {
  std::array<std::string_view, kFieldCount> names{};
  for (std::size_t i = 0; i < kFieldCount; ++i) names[i] = kStoreEventFields[i].name;
  return names;
}();

// Every member of every event is looked up here. A scan of all the names
// compared about half of them per key, which showed in profiles under NDJSON
// load; grouped by length, a key meets at most kMaxSameLength names.
constexpr std::size_t kMaxSameLength = 4;

struct FieldsByLength {
  static constexpr std::size_t kLongest = 17;  // "priority_shipping"
  std::array<std::array<std::int8_t, kMaxSameLength>, kLongest + 1> fields{};
  std::array<std::uint8_t, kLongest + 1> count{};
};

constexpr FieldsByLength make_fields_by_length() {
  FieldsByLength by;
  for (int i = 0; i < kFieldCount; ++i) {
    const std::size_t len = kFieldNames[static_cast<std::size_t>(i)].size();
    // Not a constant expression, so a name that breaks the bounds fails the build.
    if (len > FieldsByLength::kLongest || by.count[len] == kMaxSameLength) throw "field name table";
    by.fields[len][by.count[len]++] = static_cast<std::int8_t>(i);
  }
  return by;
}

constexpr FieldsByLength kFieldsByLength = make_fields_by_length();

int field_index(std::string_view key) {
  if (key.size() > FieldsByLength::kLongest) return -1;
  const auto& candidates = kFieldsByLength.fields[key.size()];
  for (std::uint8_t c = 0; c < kFieldsByLength.count[key.size()]; ++c) {
    const int i = candidates[c];
    const char* name = kFieldNames[static_cast<std::size_t>(i)].data();
    // Names of one length differ in their first byte but for store_id and
    // store_ip: checking it first saves most calls to memcmp.
    if (name[0] == key[0] && std::memcmp(name, key.data(), key.size()) == 0) return i;
  }
  return -1;
}

enum class Kind : std::uint8_t { kAbsent, kNull, kString, kNumber, kBool, kComposite };
enum class Root : std::uint8_t { kNone, kObject, kArray, kScalar };

struct Slot {
  Kind kind = Kind::kAbsent;
  bool duplicate = false;
  bool boolean = false;
  // String contents or the raw number literal. The parse is in situ, so this
  // points into ParserState::insitu and is valid until the thread's next
  // parse; a view spares a copy of every value.
  // In situ, RapidJSON hands strings and raw numbers over with copy=false
  // (reader.h, ParseString and ParseNumber): they always lie in that buffer.
  std::string_view text;
};

// SAX handler that keeps the raw value of each known top-level member and
// skips everything else. Reused per thread so its strings keep their capacity.
struct EventHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventHandler> {
  std::array<Slot, kFieldCount> slots;
  Root root = Root::kNone;
  int depth = 0;
  int current = -1;  // known field whose value comes next, -1 for none
  bool too_deep = false;

  void reset() {
    for (Slot& slot : slots) {
      slot.kind = Kind::kAbsent;
      slot.duplicate = false;
    }
    root = Root::kNone;
    depth = 0;
    current = -1;
    too_deep = false;
  }

  Slot* target() {
    if (depth != 1 || root != Root::kObject || current < 0) return nullptr;
    Slot& slot = slots[static_cast<std::size_t>(current)];
    current = -1;
    // A repeated key makes the value depend on which parser reads the message
    // (first wins, last wins, or an error), so we refuse to pick one.
    if (slot.kind != Kind::kAbsent) slot.duplicate = true;
    return &slot;
  }

  bool scalar(Kind kind, const char* str, rapidjson::SizeType length, bool boolean) {
    if (depth == 0) {
      root = Root::kScalar;
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
      root = kind;
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

// Length of the valid UTF-8 sequence at text[i] (no surrogates, no overlongs),
// or 0 if the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

// Offset of the first byte that does not start a valid UTF-8 sequence, or
// npos. Messages are almost all ASCII, so eight bytes are checked at a time.
std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// PostgreSQL text refuses NUL and invalid UTF-8; JSON escapes ("\u0000", a
// lone "\udc00") can produce both even from valid JSON input.
bool is_storable_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      // Eight ASCII bytes, none of them NUL (the classic has-zero-byte test).
      const std::uint64_t zero = (word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL;
      if ((word & 0x8080808080808080ULL) == 0 && zero == 0) {
        i += 8;
        continue;
      }
    }
    if (text[i] == '\0') return false;
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// Quotes a value for a detail message: JSON-escaped, cut to a short prefix,
// and with invalid UTF-8 bytes shown as \xNN so the detail itself is always
// valid text (it ends up in headers and SQL).
void append_quoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size() && i < kMaxQuotedBytes) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
      ++i;
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
      ++i;
    } else if (u < 0x80) {
      out.push_back(c);
      ++i;
    } else if (const std::size_t len = utf8_sequence_length(text, i); len != 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
      ++i;
    }
  }
  if (i < text.size()) out += "...";
  out.push_back('"');
}

std::string quoted(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

// "string \"7\"", "number 7", "true", "an object or array": what was sent.
std::string describe(const Slot& slot) {
  switch (slot.kind) {
    case Kind::kString:
      return "string " + quoted(slot.text);
    case Kind::kNumber:
      return "number " + std::string(slot.text.substr(0, kMaxQuotedBytes)) +
             (slot.text.size() > kMaxQuotedBytes ? "..." : "");
    case Kind::kBool:
      return slot.boolean ? "true" : "false";
    case Kind::kComposite:
      return "an object or array";
    case Kind::kNull:
      return "null";
    case Kind::kAbsent:
      break;
  }
  return "nothing";
}

// Per byte of a UUID's text: the byte itself for '-' where a dash belongs,
// a hex digit in lower case, or 0 for a byte that does not belong there.
// One table lookup per byte replaces a chain of per-character conditions.
constexpr std::array<char, 256> kLowerHex = [] {
  std::array<char, 256> t{};
  for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = c;
  for (char c = 'a'; c <= 'f'; ++c) t[static_cast<unsigned char>(c)] = c;
  for (char c = 'A'; c <= 'F'; ++c)
    t[static_cast<unsigned char>(c)] = static_cast<char>(c - 'A' + 'a');
  return t;
}();
constexpr std::size_t kUuidLength = 36;

bool is_uuid_dash_position(std::size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

// Field checks in one place; each returns false after recording the first
// failure, so the caller can chain them with &&.
class Checker {
 public:
  explicit Checker(const EventHandler& handler) : handler_(handler) {}

  Rejection take_rejection() { return std::move(rejection_); }

  bool fail(RejectReason reason, Field field, std::string detail) {
    rejection_.reason = reason;
    rejection_.field = std::string(kFieldNames[field]);
    rejection_.detail = std::move(detail);
    return false;
  }

  // The slot if the field carries a value; absent and null count as missing
  // for required fields.
  const Slot* get(Field field, bool required) {
    const Slot& slot = handler_.slots[field];
    if (slot.duplicate) {
      fail(RejectReason::kInvalidFormat, field, name(field) + " appears more than once");
      return nullptr;
    }
    if (slot.kind == Kind::kAbsent || slot.kind == Kind::kNull) {
      if (required) {
        fail(RejectReason::kMissingField, field,
             name(field) + (slot.kind == Kind::kNull ? " is null" : " is missing"));
      }
      return nullptr;
    }
    return &slot;
  }

  const Slot* typed(Field field, Kind kind, std::string_view what) {
    const Slot* slot = get(field, true);
    if (slot == nullptr) return nullptr;
    if (slot->kind != kind) {
      wrong_type(field, what, *slot);
      return nullptr;
    }
    return slot;
  }

  bool wrong_type(Field field, std::string_view what, const Slot& slot) {
    return fail(RejectReason::kWrongType, field,
                name(field) + " must be " + std::string(what) + ", got " + describe(slot));
  }

  bool uuid(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    const std::string_view text = slot->text;
    bool ok = text.size() == kUuidLength && text[8] == '-' && text[13] == '-' && text[18] == '-' &&
              text[23] == '-';
    if (ok) {
      out.resize(kUuidLength);
      for (std::size_t i = 0; i < kUuidLength; ++i) {
        if (is_uuid_dash_position(i)) {
          out[i] = '-';
          continue;
        }
        const char lower = kLowerHex[static_cast<unsigned char>(text[i])];
        ok &= lower != 0;
        out[i] = lower;
      }
    }
    if (!ok) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not a UUID: " + quoted(text));
    }
    return true;
  }

  bool integer(Field field, std::int64_t min, std::int64_t max, std::int64_t& out) {
    const Slot* slot = typed(field, Kind::kNumber, "an integer");
    if (slot == nullptr) return false;
    const std::string_view text = slot->text;
    if (text.find_first_of(".eE") != std::string_view::npos) {
      return wrong_type(field, "an integer", *slot);
    }
    // The reader has checked the grammar: an optional '-' and digits.
    const bool negative = text[0] == '-';
    std::uint64_t magnitude = 0;
    bool overflow = false;
    for (std::size_t i = negative ? 1 : 0; i < text.size(); ++i) {
      const auto digit = static_cast<unsigned>(text[i] - '0');
      if (__builtin_mul_overflow(magnitude, 10u, &magnitude) ||
          __builtin_add_overflow(magnitude, digit, &magnitude)) {
        overflow = true;
        break;
      }
    }
    const auto umax = static_cast<std::uint64_t>(max);
    if (negative && magnitude != 0) {
      // Every range in the contract starts at 0 or above.
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be >= " + std::to_string(min) + ", got " + short_number(text));
    }
    if (overflow || magnitude > umax) {
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be <= " + std::to_string(max) + ", got " + short_number(text));
    }
    const auto value = static_cast<std::int64_t>(magnitude);
    if (value < min) {
      return fail(
          RejectReason::kOutOfRange, field,
          name(field) + " must be >= " + std::to_string(min) + ", got " + short_number(text));
    }
    out = value;
    return true;
  }

  bool decimal(Field field, Decimal min, Decimal max, Decimal& out) {
    const Slot* slot = typed(field, Kind::kNumber, "a number");
    if (slot == nullptr) return false;
    auto out_of_range = [&] {
      return fail(RejectReason::kOutOfRange, field,
                  name(field) + " must be between " + min.to_string() + " and " + max.to_string() +
                      ", got " + short_number(slot->text));
    };
    Decimal value;
    switch (detail::parse_decimal(slot->text, value)) {
      case detail::DecimalStatus::kOk:
        break;
      case detail::DecimalStatus::kNotANumber:
        return wrong_type(field, "a number", *slot);
      case detail::DecimalStatus::kTooPrecise:
        // Well typed but not representable in the contract's NUMERIC(.., 6).
        return fail(RejectReason::kOutOfRange, field,
                    name(field) + " has more than " + std::to_string(Decimal::kScale) +
                        " decimal places: " + short_number(slot->text));
      case detail::DecimalStatus::kOverflow:
        return out_of_range();
    }
    if (value < min || value > max) return out_of_range();
    out = value;
    return true;
  }

  bool boolean(Field field, bool& out) {
    const Slot* slot = typed(field, Kind::kBool, "a boolean");
    if (slot == nullptr) return false;
    out = slot->boolean;
    return true;
  }

  bool check_text(Field field, std::string_view text) {
    if (text.empty()) {
      return fail(RejectReason::kOutOfRange, field, name(field) + " must not be empty");
    }
    if (text.size() > kMaxTextBytes) {
      return fail(RejectReason::kOutOfRange, field,
                  name(field) + " must be at most " + std::to_string(kMaxTextBytes) +
                      " bytes, got " + std::to_string(text.size()));
    }
    if (!is_storable_text(text)) return not_storable(field, text);
    return true;
  }

  bool not_storable(Field field, std::string_view text) {
    return fail(RejectReason::kInvalidFormat, field,
                name(field) + " contains a NUL character or invalid UTF-8: " + quoted(text));
  }

  bool text(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr || !check_text(field, slot->text)) return false;
    out = slot->text;
    return true;
  }

  bool ip(Field field, std::string& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    const std::string_view text = slot->text;
    // inet_pton reads a C string: an embedded NUL would hide a suffix.
    char buf[64];
    bool ok = !text.empty() && text.size() < sizeof buf &&
              std::memchr(text.data(), '\0', text.size()) == nullptr;
    if (ok) {
      std::memcpy(buf, text.data(), text.size());
      buf[text.size()] = '\0';
      unsigned char addr[16];
      ok = inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
    }
    if (!ok) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not an IPv4 or IPv6 address: " + quoted(text));
    }
    out = text;
    return true;
  }

  bool timestamp(Field field, TimestampUs& out) {
    const Slot* slot = typed(field, Kind::kString, "a string");
    if (slot == nullptr) return false;
    const auto ts = parse_timestamp(slot->text);
    if (!ts) {
      return fail(RejectReason::kInvalidFormat, field,
                  name(field) + " is not an ISO-8601 timestamp between years 1970 and 9999: " +
                      quoted(slot->text));
    }
    out = *ts;
    return true;
  }

  bool optional_text(Field field, std::optional<std::string>& out) {
    const Slot* slot = get(field, false);
    if (slot == nullptr) {
      if (handler_.slots[field].duplicate) return false;
      out.reset();
      return true;
    }
    if (slot->kind != Kind::kString) return wrong_type(field, "a string or null", *slot);
    // Free text with no length or emptiness rule in the contract (the column
    // is unbounded text); only what PostgreSQL cannot store is refused.
    if (!is_storable_text(slot->text)) return not_storable(field, slot->text);
    out = slot->text;
    return true;
  }

  bool event_type_field(std::string_view header) {
    const Slot* slot = get(kEventTypeField, false);
    if (slot == nullptr) return !handler_.slots[kEventTypeField].duplicate;
    if (slot->kind != Kind::kString) return wrong_type(kEventTypeField, "a string", *slot);
    if (slot->text != header) {
      return fail(RejectReason::kEventTypeMismatch, kEventTypeField,
                  "event_type field " + quoted(slot->text) + " does not match the header " +
                      quoted(header));
    }
    return true;
  }

 private:
  // Built only on failure: the accept path must not allocate for messages.
  static std::string name(Field field) { return std::string(kFieldNames[field]); }

  static std::string short_number(std::string_view text) {
    if (text.size() <= kMaxQuotedBytes) return std::string(text);
    return std::string(text.substr(0, kMaxQuotedBytes)) + "...";
  }

  const EventHandler& handler_;
  Rejection rejection_{RejectReason::kInvalidJson, {}, {}};
};

Rejection reject(RejectReason reason, std::string detail) {
  return Rejection{reason, std::string(), std::move(detail)};
}

std::string_view root_name(Root root) {
  switch (root) {
    case Root::kArray:
      return "an array";
    case Root::kScalar:
      return "a scalar";
    case Root::kObject:
      return "an object";
    case Root::kNone:
      break;
  }
  return "nothing";
}

// Runs the SAX parse; on a syntax problem returns the detail text.
std::optional<std::string> run_reader(ParserState& state, std::string_view payload) {
  // JSON text is UTF-8 (RFC 8259); anything else is not JSON at all.
  if (const std::size_t bad = first_invalid_utf8(payload); bad != std::string_view::npos) {
    return "invalid JSON at offset " + std::to_string(bad) + ": invalid UTF-8";
  }
  state.handler.reset();
  state.insitu.reserve(payload.size() + kScanSlack);
  state.insitu.assign(payload);
  rapidjson::InsituStringStream stream(state.insitu.data());
  state.reader.Parse<kParseFlags | rapidjson::kParseInsituFlag>(stream, state.handler);
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

}  // namespace

namespace {

// Checks one field of the parsed body and stores it in its member.
bool check_field(Checker& c, Field f, std::string_view event_type_header, StoreEvent& event) {
  const FieldSpec& field = spec(f);
  switch (field.type) {
    case FieldType::kUuid:
      return c.uuid(f, member_of<std::string>(event, field));
    case FieldType::kText:
      return c.text(f, member_of<std::string>(event, field));
    case FieldType::kIp:
      return c.ip(f, member_of<std::string>(event, field));
    case FieldType::kFreeText:
      return c.optional_text(f, member_of<std::optional<std::string>>(event, field));
    case FieldType::kInteger: {
      // Parsed as 64 bits; the bounds fit the member (contract.hpp checks).
      std::int64_t value = 0;
      if (!c.integer(f, field.min, field.max, value)) return false;
      visit_field(event, f,
                  Overloaded{[&](std::int32_t& m) { m = static_cast<std::int32_t>(value); },
                             [&](std::int64_t& m) { m = value; }, [](auto&) {}});
      return true;
    }
    case FieldType::kDecimal:
      return c.decimal(f, Decimal::from_integer(field.min), Decimal::from_integer(field.max),
                       member_of<Decimal>(event, field));
    case FieldType::kBoolean:
      return c.boolean(f, member_of<bool>(event, field));
    case FieldType::kTimestamp:
      return c.timestamp(f, member_of<TimestampUs>(event, field));
    case FieldType::kEventType:
      // The member comes from the header; a body that repeats it must agree.
      return c.event_type_field(event_type_header);
  }
  return false;
}

// The checks after the syntax pass, shared by parse_event and
// parse_event_into. `event` is filled in place; on failure it holds a partial
// event the caller must ignore.
std::optional<Rejection> validate_parsed(const EventHandler& h,
                                         std::optional<std::string_view> event_type_header,
                                         StoreEvent& event) {
  if (h.root != Root::kObject) {
    return reject(RejectReason::kNotAnObject,
                  "expected a JSON object, got " + std::string(root_name(h.root)));
  }
  if (!event_type_header) {
    return reject(RejectReason::kMissingEventType, "no event_type header");
  }
  const auto type = parse_event_type(*event_type_header);
  if (!type) {
    return reject(RejectReason::kUnknownEventType,
                  "unknown event_type header " + quoted(*event_type_header) + ", expected " +
                      std::string(kSaleEvent) + " or " + std::string(kInventoryEvent));
  }

  event.event_type = *type;
  Checker c(h);
  // Every field in contract order; the first failure is the rejection.
  for (int i = 0; i < kFieldCount; ++i) {
    if (!check_field(c, static_cast<Field>(i), *event_type_header, event)) {
      return c.take_rejection();
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<StoreEvent, Rejection> parse_event(std::string_view payload,
                                                std::optional<std::string_view> event_type_header) {
  ParserState& state = parser_state();
  if (auto syntax_error = run_reader(state, payload)) {
    return reject(RejectReason::kInvalidJson, std::move(*syntax_error));
  }
  StoreEvent event;
  if (auto rejection = validate_parsed(state.handler, event_type_header, event)) {
    return std::move(*rejection);
  }
  return event;
}

std::optional<Rejection> parse_event_into(std::string_view payload,
                                          std::optional<std::string_view> fallback_event_type,
                                          StoreEvent& event) {
  ParserState& state = parser_state();
  if (auto syntax_error = run_reader(state, payload)) {
    return reject(RejectReason::kInvalidJson, std::move(*syntax_error));
  }
  // The body's own field wins; passing it as the header makes the field check
  // compare it with itself, so only its type is still checked. A repeated
  // field is left to that check, which reports it.
  const Slot& field = state.handler.slots[kEventTypeField];
  if (field.kind == Kind::kString && !field.duplicate) {
    return validate_parsed(state.handler, field.text, event);
  }
  return validate_parsed(state.handler, fallback_event_type, event);
}

namespace {

// Collects the two routing fields at the top level and stops as soon as both
// are seen; anything malformed is simply not reported.
struct HintHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, HintHandler> {
  enum class Want : std::uint8_t { kNone, kEventType, kStoreId };
  RoutingHint hint;
  int depth = 0;
  Want want = Want::kNone;
  bool seen_type = false;
  bool seen_store = false;

  bool done() const { return seen_type && seen_store; }

  bool value() {
    want = Want::kNone;
    return depth > 0 && !done();  // a non-object root ends the search
  }
  bool Null() { return value(); }
  bool Bool(bool) { return value(); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1 && want == Want::kStoreId) {
      seen_store = true;
      const std::string_view text(str, length);
      // Ten digits cannot overflow int64; more cannot fit an int32 anyway.
      bool ok = !text.empty() && text.size() <= 10;
      std::int64_t v = 0;
      for (std::size_t i = 0; ok && i < text.size(); ++i) {
        ok = text[i] >= '0' && text[i] <= '9';
        v = v * 10 + (text[i] - '0');
      }
      if (ok && v <= std::numeric_limits<std::int32_t>::max()) {
        hint.store_id = static_cast<std::int32_t>(v);
      }
    }
    return value();
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1 && want == Want::kEventType) {
      seen_type = true;
      hint.raw_event_type.emplace(str, length);
      hint.event_type = parse_event_type(*hint.raw_event_type);
    }
    return value();
  }
  bool StartObject() { return open(); }
  bool StartArray() {
    if (depth == 0) return false;
    return open();
  }
  bool open() {
    if (depth == 1) {
      // An object or array where a routing field belongs: not usable.
      if (want == Want::kEventType) seen_type = true;
      if (want == Want::kStoreId) seen_store = true;
    }
    want = Want::kNone;
    return ++depth <= kMaxDepth && !done();
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    if (depth == 1) {
      const std::string_view key(str, length);
      want = key == "event_type" ? Want::kEventType
             : key == "store_id" ? Want::kStoreId
                                 : Want::kNone;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth;
    return true;
  }
};

}  // namespace

RoutingHint routing_hint(std::string_view payload) {
  thread_local rapidjson::Reader reader;
  HintHandler handler;
  rapidjson::MemoryStream stream(payload.data(), payload.size());
  // Errors are ignored on purpose: fields seen before a syntax error still
  // route the message, and the sink's validation has the final word.
  reader.Parse<kParseFlags>(stream, handler);
  return std::move(handler.hint);
}

}  // namespace millrace::core
