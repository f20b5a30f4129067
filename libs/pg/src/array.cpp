#include "millrace/pg/array.hpp"

#include <charconv>
#include <utility>

namespace millrace::pg {

ArrayLiteral& ArrayLiteral::add(std::string_view element) {
  if (size_++ > 0) text_ += ',';
  text_ += '"';
  for (const char c : element) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
  return *this;
}

ArrayLiteral& ArrayLiteral::add(std::int64_t element) {
  if (size_++ > 0) text_ += ',';
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, element).ptr;
  text_.append(buf, end);
  return *this;
}

ArrayLiteral& ArrayLiteral::add_null() {
  if (size_++ > 0) text_ += ',';
  text_ += "NULL";
  return *this;
}

std::string ArrayLiteral::take() {
  text_ += '}';
  std::string out = std::exchange(text_, "{");
  size_ = 0;
  return out;
}

}  // namespace millrace::pg
