#include "validation_detail.hpp"

#include "millrace/core/enum_names.hpp"
#include "millrace/core/utf8.hpp"

namespace millrace::core::detail {

std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size() && i < kMaxQuotedBytes) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
      ++i;
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
      ++i;
    } else if (u < 0x80) {
      out.push_back(c);
      ++i;
    } else if (const std::size_t len = utf8_sequence_length(text, i); len != 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
      ++i;
    }
  }
  if (i < text.size()) out += "...";
  out.push_back('"');
  return out;
}

std::string short_number(std::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return std::string(text);
  return std::string(text.substr(0, kMaxQuotedBytes)) + "...";
}

std::string describe(const Slot& slot) {
  switch (slot.kind) {
    case Kind::kString:
      return "string " + quoted(slot.text);
    case Kind::kNumber:
      return "number " + short_number(slot.text);
    case Kind::kBool:
      return slot.boolean ? "true" : "false";
    case Kind::kComposite:
      return "an object or array";
    case Kind::kNull:
      return "null";
    case Kind::kAbsent:
      break;
  }
  return "nothing";
}

std::string_view root_name(Root root) {
  static constexpr EnumNames<Root, 4> kNames({{Root::kNone, "nothing"},
                                              {Root::kObject, "an object"},
                                              {Root::kArray, "an array"},
                                              {Root::kScalar, "a scalar"}});
  return kNames.name(root);
}

}  // namespace millrace::core::detail
