#pragma once

// A record's checks on a JSON object already parsed (record.cpp): what
// parse_record does after parsing, for a caller that holds the object
// (map_frame builds each record of a frame as one). Private to the library.

#include <variant>

#include "json_tree.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds::detail {

// `object` must be a JSON object. The same checks, in the same order, with
// the same rejections as parse_record's.
std::variant<Record, core::Rejection> check_record(const Declaration& d, const Json& object);

}  // namespace millrace::kinds::detail
