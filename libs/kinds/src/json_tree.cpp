#include "json_tree.hpp"

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdio>

namespace millrace::kinds::detail {

namespace {

constexpr std::size_t kMaxDepth = 64;

// Builds the tree from RapidJSON's SAX events. The stack holds the open
// containers; a value goes to the innermost, under the key read last.
class Builder {
 public:
  bool Null() { return add(Json{}); }
  bool Bool(bool b) {
    Json j;
    j.type = Json::Type::kBool;
    j.boolean = b;
    return add(std::move(j));
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    Json j;
    j.type = Json::Type::kNumber;
    j.text.assign(s, n);
    return add(std::move(j));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    Json j;
    j.type = Json::Type::kString;
    j.text.assign(s, n);
    return add(std::move(j));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    return true;
  }
  bool StartObject() { return open(Json::Type::kObject); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(Json::Type::kArray); }
  bool EndArray(rapidjson::SizeType) { return close(); }
  // Numbers arrive as RawNumber (kParseNumbersAsStringsFlag).
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(std::int64_t) { return false; }
  bool Uint64(std::uint64_t) { return false; }
  bool Double(double) { return false; }

  bool too_deep() const { return too_deep_; }
  Json take() { return std::move(root_); }

 private:
  bool open(Json::Type type) {
    if (stack_.size() >= kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    Json j;
    j.type = type;
    stack_.push_back({std::move(j), std::move(key_)});
    return true;
  }
  bool close() {
    auto [j, key] = std::move(stack_.back());
    stack_.pop_back();
    key_ = std::move(key);
    return add(std::move(j));
  }
  bool add(Json j) {
    if (stack_.empty()) {
      root_ = std::move(j);
    } else if (auto& parent = stack_.back().first; parent.type == Json::Type::kObject) {
      parent.members.push_back(JsonMember{std::move(key_), std::move(j)});
    } else {
      parent.items.push_back(std::move(j));
    }
    return true;
  }

  std::vector<std::pair<Json, std::string>> stack_;  // a container and its key
  std::string key_;
  Json root_;
  bool too_deep_ = false;
};

}  // namespace

const Json* Json::member(std::string_view name, std::size_t* count) const {
  const Json* found = nullptr;
  std::size_t n = 0;
  for (const auto& [key, value] : members) {
    if (key == name) {
      if (found == nullptr) found = &value;
      ++n;
    }
  }
  if (count != nullptr) *count = n;
  return found;
}

std::string_view describe(Json::Type type) {
  switch (type) {
    case Json::Type::kNull:
      return "null";
    case Json::Type::kBool:
      return "a boolean";
    case Json::Type::kNumber:
      return "a number";
    case Json::Type::kString:
      return "a string";
    case Json::Type::kObject:
      return "an object";
    case Json::Type::kArray:
      return "an array";
  }
  return "a value";
}

void append_string(std::string& out, std::string_view s) {
  out += '"';
  // Runs that need no escape are copied whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && s[i] != '"' && s[i] != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += '\\';
      out += s[i];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

namespace {

void write(std::string& out, const Json& j) {
  switch (j.type) {
    case Json::Type::kNull:
      out += "null";
      return;
    case Json::Type::kBool:
      out += j.boolean ? "true" : "false";
      return;
    case Json::Type::kNumber:
      out += j.text;
      return;
    case Json::Type::kString:
      append_string(out, j.text);
      return;
    case Json::Type::kObject:
      out += '{';
      for (std::size_t i = 0; i < j.members.size(); ++i) {
        if (i > 0) out += ',';
        append_string(out, j.members[i].key);
        out += ':';
        write(out, j.members[i].value);
      }
      out += '}';
      return;
    case Json::Type::kArray:
      out += '[';
      for (std::size_t i = 0; i < j.items.size(); ++i) {
        if (i > 0) out += ',';
        write(out, j.items[i]);
      }
      out += ']';
      return;
  }
}

}  // namespace

std::string write_json(const Json& j) {
  std::string out;
  write(out, j);
  return out;
}

std::optional<Json> parse_json(std::string_view text, std::string& error) {
  Builder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;
  const auto result = reader.Parse<kFlags>(stream, builder);
  if (builder.too_deep()) {
    error = "nested more than " + std::to_string(kMaxDepth) + " deep";
    return std::nullopt;
  }
  if (result.IsError()) {
    error = std::string(rapidjson::GetParseError_En(result.Code())) + " at byte " +
            std::to_string(result.Offset());
    return std::nullopt;
  }
  return builder.take();
}

}  // namespace millrace::kinds::detail
