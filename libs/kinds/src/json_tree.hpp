#pragma once

// A parsed JSON document that keeps each number's literal, so decimals are
// read exactly and a number is told apart from a string holding digits
// (RapidJSON's DOM keeps neither with kParseNumbersAsStringsFlag).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::kinds::detail {

struct JsonMember;

struct Json {
  enum class Type : std::uint8_t { kNull, kBool, kNumber, kString, kObject, kArray };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;                 // a string's contents or a number's literal
  std::vector<JsonMember> members;  // in document order
  std::vector<Json> items;

  // The first member named `name`, or null; `count` is set to how many
  // there are.
  const Json* member(std::string_view name, std::size_t* count = nullptr) const;
};

// One member of an object. (A std::pair could not hold the Json it is part
// of: pair needs complete types, where vector does not.)
struct JsonMember {
  std::string key;
  Json value;
};

// "an object", "a string", ...: for messages.
std::string_view describe(Json::Type type);

// `s` as a JSON string, quoted and escaped (UTF-8 passed through).
void append_string(std::string& out, std::string_view s);

// `j` as compact JSON (numbers as their literals).
std::string write_json(const Json& j);

// Parses `text` as one JSON value (UTF-8 checked, nesting at most 64
// deep). On a syntax error returns nullopt and sets `error` to where and
// what.
std::optional<Json> parse_json(std::string_view text, std::string& error);

}  // namespace millrace::kinds::detail
