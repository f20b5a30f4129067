#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "millrace/core/event_type.hpp"
#include "millrace/core/store_message.hpp"

// RapidJSON scans strings and whitespace 16 bytes at a time with SSE2, which
// every x86-64 CPU has; without the macro it goes byte by byte.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace millrace::core {

namespace {

// Collects the two routing fields at the top level and stops as soon as both
// are seen; anything malformed is simply not reported.
struct HintHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, HintHandler> {
  // Routing fields are at the top level; the bound keeps the recursive
  // parser's stack use small whatever a sender nests in other fields.
  static constexpr int kMaxDepth = 64;
  // No kParseValidateEncodingFlag: a hint needs no valid text (the
  // validation downstream checks it), and RapidJSON's is byte by byte.
  static constexpr unsigned kParseFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag;

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
  reader.Parse<HintHandler::kParseFlags>(stream, handler);
  return std::move(handler.hint);
}

}  // namespace millrace::core
