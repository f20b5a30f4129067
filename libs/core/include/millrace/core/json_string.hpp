#pragma once

#include <string>
#include <string_view>

namespace millrace::core {

// Appends `text` as a JSON string literal, quotes included. Bytes >= 0x80 pass
// through, so `text` must be UTF-8 (rejection details always are).
void append_json_string(std::string& out, std::string_view text);

// The same without the quotes: the inside of a literal, so that one string
// can be written in parts ("schema.table" from its two names).
void append_json_chars(std::string& out, std::string_view text);

}  // namespace millrace::core
