// The "sax" codec: one RapidJSON SAX pass over a message that checks each
// member against its declared field as it arrives (record_check.hpp, the
// checks the "dom" codec runs too) and builds no document. It gives what
// parse_record_dom gives for every message: the whole text is parsed
// before any rejection but invalid_json is returned, and the first failure
// of each field is kept so that the one the declaration's order puts first
// wins, as the dom codec's walk in that order finds it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "json_tree.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/utf8.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "record_check.hpp"

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

namespace millrace::kinds {

using core::Rejection;
using core::RejectReason;
using detail::Json;

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Whether the `n` bytes at `a` and `b` are equal. Names are short: eight
// bytes at a time inline cost less than a call to memcmp per member.
bool same_bytes(const char* a, const char* b, std::size_t n) {
  for (; n >= 8; a += 8, b += 8, n -= 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; ++a, ++b, --n) {
    if (*a != *b) return false;
  }
  return true;
}

bool named(const FieldDecl& f, const char* key, std::size_t n) {
  return f.name.size() == n && same_bytes(f.name.data(), key, n);
}

// The index of the field named `key`, or kNone. Members mostly come in
// the declaration's order: the field after the last one found, `next`, is
// tried first.
std::size_t field_named(const std::vector<FieldDecl>& fields, const char* key, std::size_t n,
                        std::size_t next) {
  if (next < fields.size() && named(fields[next], key, n)) return next;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (named(fields[i], key, n)) return i;
  }
  return kNone;
}

// One object's members checked against `fields` as they arrive. The dom
// codec reports, of the fields in declaration order, the first one given
// twice, missing or failing its check; each field's own failure is known
// when its member arrives, and a missing one's at the object's end.
class ObjectCheck {
 public:
  // Field `type` (if any) is the record's type, sent in the header
  // `type_header`; with `from_body`, a string in the body is the type
  // itself. The values `out` holds are reused: each is written before
  // finish() accepts the object.
  void start(const std::vector<FieldDecl>& fields, std::vector<Value>& out,
             std::optional<std::size_t> type = {}, std::string_view type_header = {},
             bool from_body = false) {
    fields_ = &fields;
    out_ = &out;
    type_ = type;
    type_header_ = type_header;
    from_body_ = from_body;
    out.resize(fields.size());
    seen_.assign(fields.size(), false);
    first_failed_ = fields.size();
    failure_.reset();
  }

  void value(std::size_t i, const Json& j) {
    // A later field's failure would never be reported.
    if (i > first_failed_) return;
    const FieldDecl& f = (*fields_)[i];
    if (seen_[i]) {
      failure_ = detail::duplicate(f);
      first_failed_ = i;
      return;
    }
    seen_[i] = true;
    auto r = type_ != i
                 ? detail::check_value(f, &j, (*out_)[i])
                 : detail::check_type_value(
                       f, &j, from_body_ && j.type == Json::Type::kString ? j.text : type_header_,
                       (*out_)[i]);
    if (r) {
      failure_ = std::move(r);
      first_failed_ = i;
    }
  }

  std::optional<Rejection> finish() {
    for (std::size_t i = 0; i < first_failed_; ++i) {
      if (seen_[i]) continue;
      auto r = type_ == i
                   ? detail::check_type_value((*fields_)[i], nullptr, type_header_, (*out_)[i])
                   : detail::check_value((*fields_)[i], nullptr, (*out_)[i]);
      if (r) return r;
    }
    return std::move(failure_);
  }

 private:
  const std::vector<FieldDecl>* fields_ = nullptr;
  std::vector<Value>* out_ = nullptr;
  std::optional<std::size_t> type_;
  std::string_view type_header_;
  bool from_body_ = false;
  std::vector<bool> seen_;
  std::size_t first_failed_ = 0;
  std::optional<Rejection> failure_;
};

// The SAX handler. Depths: the record's members are read at depth 1, the
// items of its lines' array at 2 and a line's members at 3; everything
// else (unknown members, what nests in a value) is only walked through.
class RecordReader : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, RecordReader> {
 public:
  void start(const Declaration& d, Record& record, std::optional<std::string_view> type_header,
             TypeFrom type_from) {
    d_ = &d;
    type_header_ = type_header;
    from_body_ = type_from == TypeFrom::kBody && d.type_header;
    types_given_ = 0;
    body_type_.reset();
    record_ = &record;
    record.lines.clear();
    depth_ = 0;
    too_deep_ = false;
    root_ = Json::Type::kNull;
    record_key_ = kNone;
    line_key_ = kNone;
    record_check_.start(d.fields, record.values, d.type_header, type_header.value_or(""),
                        from_body_);
    lines_given_ = 0;
    lines_type_ = Json::Type::kNull;
    items_ = 0;
    in_lines_ = false;
    in_line_ = false;
    line_failure_.reset();
  }

  bool too_deep() const { return too_deep_; }

  // After a parse without error.
  std::optional<Rejection> finish() {
    if (root_ != Json::Type::kObject) {
      return Rejection{
          RejectReason::kNotAnObject, "",
          "the body must be a JSON object, got " + std::string(detail::describe(root_))};
    }
    if (auto r = detail::check_type_header(*d_, body_type_ ? body_type_ : type_header_)) return r;
    if (auto r = record_check_.finish()) return r;
    if (!d_->lines) return std::nullopt;
    if (auto r = detail::check_lines(*d_->lines, lines_given_, lines_type_, items_)) return r;
    return std::move(line_failure_);
  }

  bool Null() { return value(scalar(Json::Type::kNull)); }
  bool Bool(bool b) {
    Json& j = scalar(Json::Type::kBool);
    j.boolean = b;
    return value(j);
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return value(scalar(Json::Type::kNumber, {s, n}));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return value(scalar(Json::Type::kString, {s, n}));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 1) {
      // After no field (kNone), kNone + 1 wraps to the first.
      record_key_ = field_named(d_->fields, s, n, record_key_ + 1);
      if (record_key_ == kNone && d_->lines && d_->lines->name == std::string_view(s, n)) {
        record_key_ = d_->fields.size();
      }
    } else if (depth_ == 3 && in_line_) {
      line_key_ = field_named(d_->lines->fields, s, n, line_key_ + 1);
    }
    return true;
  }
  bool StartObject() { return open(Json::Type::kObject); }
  bool StartArray() { return open(Json::Type::kArray); }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ == 3 && in_line_) end_line();
    --depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    if (depth_ == 2) in_lines_ = false;
    --depth_;
    return true;
  }

 private:
  // A value as the checks read it: only its type, text and boolean, set
  // in one Json kept for every value (its spans stay empty), not a new one
  // per value.
  Json& scalar(Json::Type type, std::string_view text = {}) {
    value_.type = type;
    value_.text = text;
    return value_;
  }

  bool open(Json::Type type) {
    if (static_cast<std::size_t>(depth_) >= detail::kMaxJsonDepth) {
      too_deep_ = true;
      return false;
    }
    value(scalar(type));
    ++depth_;
    return true;
  }

  // A value at the current depth, before a container's depth is entered.
  bool value(const Json& j) {
    switch (depth_) {
      case 0:
        root_ = j.type;
        break;
      case 1:
        record_member(j);
        break;
      case 2:
        if (in_lines_) line_item(j);
        break;
      case 3:
        if (in_line_ && line_key_ != kNone) line_check_.value(line_key_, j);
        break;
      default:
        break;
    }
    return true;
  }

  void record_member(const Json& j) {
    if (record_key_ == kNone) return;
    if (from_body_ && record_key_ == d_->type_header) {
      // The body's type, if given once as a string (it lies in the
      // parse's buffer until finish()).
      body_type_.reset();
      if (++types_given_ == 1 && j.type == Json::Type::kString) body_type_ = j.text;
    }
    if (record_key_ < d_->fields.size()) {
      record_check_.value(record_key_, j);
      return;
    }
    // The lines: only the first member of the name counts.
    if (++lines_given_ > 1) return;
    lines_type_ = j.type;
    in_lines_ = j.type == Json::Type::kArray;
  }

  void line_item(const Json& j) {
    ++items_;
    // The dom codec reports the first line that fails, if their count is
    // right: a line past the most there may be needs no check.
    if (line_failure_ || items_ > d_->lines->max_items) return;
    if (j.type != Json::Type::kObject) {
      line_failure_ = detail::line_not_object(*d_->lines, items_, j.type);
      return;
    }
    record_->lines.emplace_back();
    line_check_.start(d_->lines->fields, record_->lines.back());
    line_key_ = kNone;
    in_line_ = true;
  }

  void end_line() {
    in_line_ = false;
    if (auto r = line_check_.finish()) {
      line_failure_ = detail::prefixed(*std::move(r), detail::line_name(*d_->lines, items_) + ".");
    }
  }

  const Declaration* d_ = nullptr;
  std::optional<std::string_view> type_header_;
  bool from_body_ = false;                     // TypeFrom::kBody, for a declaration with a type
  std::size_t types_given_ = 0;                // members that name the type field
  std::optional<std::string_view> body_type_;  // the body's type, when it stands for the header
  Record* record_ = nullptr;
  Json value_;
  int depth_ = 0;
  bool too_deep_ = false;
  Json::Type root_ = Json::Type::kNull;
  std::size_t record_key_ = kNone;  // the field (fields.size(): the lines) the next value is of
  ObjectCheck record_check_;
  std::size_t lines_given_ = 0;  // how many members name the lines
  Json::Type lines_type_ = Json::Type::kNull;
  std::size_t items_ = 0;  // of the lines' array
  bool in_lines_ = false;  // in the lines' array
  bool in_line_ = false;   // in a line being checked
  std::size_t line_key_ = kNone;
  ObjectCheck line_check_;
  std::optional<Rejection> line_failure_;  // of the first line that fails
};

// What a parse works with, kept by its thread from one message to the
// next so that its buffers keep their capacity.
struct SaxState {
  rapidjson::Reader reader;
  RecordReader handler;
  // The message's NUL-terminated copy that the in-situ parse decodes
  // strings in: they are then handed over where they lie instead of being
  // copied byte by byte onto the reader's stack.
  std::string insitu;
};

// RapidJSON's SSE2 scan loads aligned 16-byte blocks and may read up to 15
// bytes past the terminating NUL; the copy's allocation covers them.
constexpr std::size_t kScanSlack = 16;

}  // namespace

std::optional<Rejection> parse_record_sax_into(const Declaration& d, std::string_view payload,
                                               std::optional<std::string_view> type_header,
                                               TypeFrom type_from, Record& out) {
  thread_local SaxState state;
  state.handler.start(d, out, type_header, type_from);
  state.insitu.reserve(payload.size() + kScanSlack);
  state.insitu.assign(payload);
  rapidjson::InsituStringStream stream(state.insitu.data());
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag;
  // RapidJSON checks UTF-8 byte by byte as it reads strings. A message of
  // plain text (nearly all) is checked eight bytes at a time first, and
  // read without; another is read with the check, which also reads each
  // byte of a string, as the dom codec's reading does: its error is then
  // the dom codec's, found where RapidJSON finds it.
  const auto result = core::is_plain_json_text(payload)
                          ? state.reader.Parse<kFlags>(stream, state.handler)
                          : state.reader.Parse<kFlags | rapidjson::kParseValidateEncodingFlag>(
                                stream, state.handler);
  if (result.IsError()) {
    return Rejection{RejectReason::kInvalidJson, "",
                     "not valid JSON: " + detail::syntax_error(state.handler.too_deep(),
                                                               result.Code(), result.Offset())};
  }
  if (stream.Tell() != payload.size()) {
    return Rejection{RejectReason::kInvalidJson, "",
                     "not valid JSON: " + detail::trailing_nul(stream.Tell())};
  }
  return state.handler.finish();
}

std::variant<Record, Rejection> parse_record_sax(const Declaration& d, std::string_view payload,
                                                 std::optional<std::string_view> type_header,
                                                 TypeFrom type_from) {
  Record record;
  if (auto r = parse_record_sax_into(d, payload, type_header, type_from, record)) {
    return *std::move(r);
  }
  return record;
}

}  // namespace millrace::kinds
