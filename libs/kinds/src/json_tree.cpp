#include "json_tree.hpp"

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace millrace::kinds::detail {

// Builds a document from RapidJSON's SAX events. Values wait on one stack,
// each under its key, until their container closes; then the container's
// children are copied, contiguous, into the document's blocks, which never
// move. Decoded text never outgrows its source, so the document's one
// character buffer, the size of the source, holds every string.
class JsonBuilder {
  struct Open {
    Json::Type type;
    std::string_view key;  // the container's own key in its parent
    std::size_t first;     // its first child on pending_
  };

 public:
  // The stacks a parse works on, kept by its thread from one parse to the
  // next: no allocation per document once they have grown.
  struct Stacks {
    std::vector<JsonMember> pending;  // values (under their keys) not yet in a container
    std::vector<Open> open;
  };

  JsonBuilder(std::size_t source_bytes, Stacks& stacks)
      : chars_(std::make_unique_for_overwrite<char[]>(source_bytes + 1)),
        pending_(stacks.pending),
        open_(stacks.open) {
    pending_.clear();
    open_.clear();
  }

  bool Null() { return add(Json{}); }
  bool Bool(bool b) {
    Json j;
    j.type = Json::Type::kBool;
    j.boolean = b;
    return add(j);
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return add(scalar(Json::Type::kNumber, s, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return add(scalar(Json::Type::kString, s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_ = keep(s, n);
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

  JsonDocument take() {
    JsonDocument doc;
    doc.parsed_ = true;
    doc.root_ = pending_.front().value;
    doc.chars_ = std::move(chars_);
    doc.member_blocks_ = std::move(member_blocks_);
    doc.item_blocks_ = std::move(item_blocks_);
    return doc;
  }

 private:
  std::string_view keep(const char* s, std::size_t n) {
    char* at = chars_.get() + used_;
    std::copy_n(s, n, at);
    used_ += n;
    return {at, n};
  }
  Json scalar(Json::Type type, const char* s, std::size_t n) {
    Json j;
    j.type = type;
    j.text = keep(s, n);
    return j;
  }
  bool open(Json::Type type) {
    if (open_.size() >= kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    open_.push_back({type, key_, pending_.size()});
    return true;
  }
  bool close() {
    const Open o = open_.back();
    open_.pop_back();
    const std::size_t n = pending_.size() - o.first;
    Json j;
    j.type = o.type;
    const JsonMember* from = pending_.data() + o.first;
    if (o.type == Json::Type::kObject) {
      JsonMember* to = place(member_blocks_, member_room_, n);
      std::copy_n(from, n, to);
      j.members = {to, n};
    } else {
      Json* to = place(item_blocks_, item_room_, n);
      for (std::size_t i = 0; i < n; ++i) to[i] = from[i].value;
      j.items = {to, n};
    }
    pending_.resize(o.first);
    key_ = o.key;
    return add(j);
  }
  bool add(const Json& j) {
    pending_.push_back({key_, j});
    return true;
  }

  // Room for `n` contiguous nodes in the blocks, a new block when the last
  // has too little left.
  template <typename T>
  T* place(std::vector<std::unique_ptr<T[]>>& blocks, std::span<T>& room, std::size_t n) {
    if (n == 0) return nullptr;
    if (room.size() < n) {
      const std::size_t size = std::max<std::size_t>(n, blocks.empty() ? 16 : 64);
      blocks.push_back(std::make_unique<T[]>(size));
      room = {blocks.back().get(), size};
    }
    T* at = room.data();
    room = room.subspan(n);
    return at;
  }

  std::unique_ptr<char[]> chars_;
  std::size_t used_ = 0;
  std::vector<JsonMember>& pending_;
  std::vector<Open>& open_;
  std::string_view key_;
  std::vector<std::unique_ptr<JsonMember[]>> member_blocks_;
  std::span<JsonMember> member_room_;
  std::vector<std::unique_ptr<Json[]>> item_blocks_;
  std::span<Json> item_room_;
  bool too_deep_ = false;
};

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

std::string syntax_error(bool too_deep, int code, std::size_t offset) {
  if (too_deep) return "nested more than " + std::to_string(kMaxJsonDepth) + " deep";
  return std::string(rapidjson::GetParseError_En(static_cast<rapidjson::ParseErrorCode>(code))) +
         " at byte " + std::to_string(offset);
}

std::string trailing_nul(std::size_t offset) {
  return syntax_error(false, rapidjson::kParseErrorDocumentRootNotSingular, offset);
}

std::string write_json(const Json& j) {
  std::string out;
  write(out, j);
  return out;
}

JsonDocument parse_json(std::string_view text, std::string& error) {
  thread_local JsonBuilder::Stacks stacks;
  JsonBuilder builder(text.size(), stacks);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag;
  const auto result = reader.Parse<kFlags>(stream, builder);
  if (result.IsError()) {
    error = syntax_error(builder.too_deep(), result.Code(), result.Offset());
    return {};
  }
  if (stream.Tell() != text.size()) {
    error = trailing_nul(stream.Tell());
    return {};
  }
  return builder.take();
}

}  // namespace millrace::kinds::detail
