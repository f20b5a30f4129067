#include "millrace/core/json_string.hpp"

namespace millrace::core {

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  append_json_chars(out, text);
  out.push_back('"');
}

void append_json_chars(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Runs that need no escape (nearly every byte of an id or a reason) are
  // appended whole: byte by byte showed in profiles of 100-event responses.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    // Bytes >= 0x80 pass through: the text is UTF-8 and JSON is too.
    if (c != '"' && c != '\\' && u >= 0x20) continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xF]);
    }
  }
  out.append(text.data() + run, text.size() - run);
}

}  // namespace millrace::core
