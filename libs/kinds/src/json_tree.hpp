#pragma once

// A parsed JSON document that keeps each number's literal, so decimals are
// read exactly and a number is told apart from a string holding digits
// (RapidJSON's DOM keeps neither with kParseNumbersAsStringsFlag).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::kinds::detail {

struct JsonMember;

// A node of a parsed document (JsonDocument), or a scalar a feed's mapping
// makes (feed.cpp). It owns nothing: its text and children live in the
// document (or the mapping's buffers), which must outlive it. Copying one
// is cheap.
struct Json {
  enum class Type : std::uint8_t { kNull, kBool, kNumber, kString, kObject, kArray };
  Type type = Type::kNull;
  bool boolean = false;
  std::string_view text;                // a string's contents or a number's literal
  std::span<const JsonMember> members;  // in document order
  std::span<const Json> items;

  // The first member named `name`, or null; `count` is set to how many
  // there are.
  const Json* member(std::string_view name, std::size_t* count = nullptr) const;
};

// One member of an object.
struct JsonMember {
  std::string_view key;
  Json value;
};

// A parsed document: its root and the storage its nodes point into (moving
// the document keeps them valid). Empty when the text did not parse.
class JsonDocument {
 public:
  explicit operator bool() const { return parsed_; }
  const Json& operator*() const { return root_; }
  const Json* operator->() const { return &root_; }

 private:
  friend class JsonBuilder;
  bool parsed_ = false;
  Json root_;
  std::unique_ptr<char[]> chars_;  // every string and literal, decoded
  std::vector<std::unique_ptr<JsonMember[]>> member_blocks_;
  std::vector<std::unique_ptr<Json[]>> item_blocks_;
};

// "an object", "a string", ...: for messages.
std::string_view describe(Json::Type type);

// `s` as a JSON string, quoted and escaped (UTF-8 passed through).
void append_string(std::string& out, std::string_view s);

// `j` as compact JSON (numbers as their literals).
std::string write_json(const Json& j);

// How deep containers may nest in a document: a parse stops past it.
inline constexpr std::size_t kMaxJsonDepth = 64;

// The text of a parse's failure: nested too deep, or RapidJSON's error
// `code` (a rapidjson::ParseErrorCode) at byte `offset`.
std::string syntax_error(bool too_deep, int code, std::size_t offset);

// The failure of a parse that ended at a NUL byte at `offset`, before the
// text's end: RapidJSON takes one for the end of its input, but what
// follows the value must be whitespace only.
std::string trailing_nul(std::size_t offset);

// Parses `text` as one JSON value (UTF-8 checked, nesting at most 64
// deep). On a syntax error returns an empty document and sets `error` to
// where and what.
JsonDocument parse_json(std::string_view text, std::string& error);

}  // namespace millrace::kinds::detail
