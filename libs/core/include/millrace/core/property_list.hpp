#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::core {

// A key=value list as librdkafka's properties are given on one line
// (MILLRACE_KAFKA_PROPERTIES): items separated by commas, blanks around an
// item dropped, empty items skipped. A value may hold commas two ways:
//   - an item with no '=' continues the value before it, its comma kept, so
//     librdkafka's own lists read as written: "debug=cgrp,fetch";
//   - "\," is a comma that separates nothing, for a value whose part after a
//     comma holds an '=': "sasl.oauthbearer.extensions=a=1\,b=2".
// A backslash before anything else is itself.

// The items as written between separating commas, "\," left in, blanks
// around them kept; an empty list gives one empty item.
std::vector<std::string_view> property_items(std::string_view text);

// The key=value pairs in order (a key given twice is there twice), each
// value with its continuations and "\," read as commas. Throws std::invalid_argument when the first
// item that is not empty has no key; the item is not echoed, as it may be part of a secret.
std::vector<std::pair<std::string, std::string>> parse_property_list(std::string_view text);

}  // namespace millrace::core
