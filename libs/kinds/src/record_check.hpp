#pragma once

// A record's checks on a JSON object already parsed (record.cpp): what
// parse_record does after parsing, for a caller that holds the object
// (map_frame builds each record of a frame as one). Private to the library.

#include <optional>
#include <span>
#include <variant>

#include "json_tree.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds::detail {

// `object` must be a JSON object. The same checks, in the same order, with
// the same rejections as parse_record's.
std::variant<Record, core::Rejection> check_record(const Declaration& d, const Json& object);

// The same checks on values already found, one per declared field (null:
// absent), for a kind without lines (a feed's, feed_file.cpp); `out` gets
// the record's values.
std::optional<core::Rejection> check_fields(const Declaration& d,
                                            std::span<const Json* const> values, Record& out);

}  // namespace millrace::kinds::detail
