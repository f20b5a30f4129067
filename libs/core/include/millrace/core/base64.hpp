#pragma once

// Standard, padded base64 (RFC 4648 section 4): the form Kafka Connect's
// JsonConverter gives bytes, and the Standard Webhooks secrets' form.

#include <string>
#include <string_view>

namespace millrace::core {

// Appends the base64 of `bytes` to `out`.
void append_base64(std::string& out, std::string_view bytes);
std::string base64(std::string_view bytes);

// The bytes of standard, padded base64 in `text`; false (and `out`
// unspecified) for anything else: a wrong length, a character outside the
// alphabet, padding anywhere but at the end.
bool unbase64(std::string_view text, std::string& out);

}  // namespace millrace::core
