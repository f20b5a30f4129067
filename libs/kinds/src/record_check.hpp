#pragma once

// A record's checks, private to the library. check_record and
// check_fields (record.cpp) run them on a JSON object already parsed
// (map_frame builds each record of a frame as one); check_value and the
// lines' checks (record_check.cpp) are what every codec runs on each value
// it reads, so all of them refuse a message alike.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "json_tree.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds::detail {

// `object` must be a JSON object. The same checks, in the same order, with
// the same rejections as parse_record's.
// `type_header` is the message's event_type header, checked already
// (check_type_header).
std::variant<Record, core::Rejection> check_record(
    const Declaration& d, const Json& object,
    std::optional<std::string_view> type_header = std::nullopt);

// The same checks on values already found, one per declared field (null:
// absent), for a kind without lines (a feed's, feed_file.cpp); `out` gets
// the record's values.
std::optional<core::Rejection> check_fields(const Declaration& d,
                                            std::span<const Json* const> values, Record& out);

// One field's value (null `j`: the member is absent) into `out`, reusing
// a string `out` holds. Of a container only its type is read. The
// rejection names the field as a record's; prefixed() makes it a line's.
std::optional<core::Rejection> check_value(const FieldDecl& f, const Json* j, Value& out);

// A declaration's type header (Declaration::type_header), before any
// field is checked: there, and one of the type field's values.
std::optional<core::Rejection> check_type_header(const Declaration& d,
                                                 std::optional<std::string_view> header);

// The type field's value `j` in the body (null: absent) into `out`: the
// header's when absent or null, else a string equal to it.
std::optional<core::Rejection> check_type_value(const FieldDecl& f, const Json* j,
                                                std::string_view header, Value& out);

// A known member given twice.
core::Rejection duplicate(const FieldDecl& f);

// `r` about a field of a line: "Details[2]." + field, and the detail too.
core::Rejection prefixed(core::Rejection r, std::string_view prefix);

// "Details[2]" (lines numbered from 1).
std::string line_name(const LinesDecl& l, std::size_t number);

// The lines member as a whole: given `count` times, the first one of type
// `type` (absent: count 0), holding `items` items when an array.
std::optional<core::Rejection> check_lines(const LinesDecl& l, std::size_t count, Json::Type type,
                                           std::size_t items);

// A line (numbered from 1) that is no object.
core::Rejection line_not_object(const LinesDecl& l, std::size_t number, Json::Type type);

}  // namespace millrace::kinds::detail
