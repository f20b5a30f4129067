#pragma once

// Case-insensitive comparison of UTF-8 text by simple upper-casing, as Azure
// Event Grid's filters compare strings (libs/webhooks/src/filter.hpp).

#include <string>
#include <string_view>

namespace millrace::core {

// The simple upper case of `c` for ASCII, Latin-1, Latin Extended-A, Greek
// and Cyrillic letters; every other code point as it is. The Turkish dotted
// and dotless i keep theirs.
char32_t simple_upper(char32_t c);

// `s` upper-cased code point by code point (simple_upper); bytes of no valid
// UTF-8 sequence stay as they are. UTF-8 stays UTF-8, so a substring of the
// folded text is the fold of a substring.
std::string fold_case(std::string_view s);

}  // namespace millrace::core
