#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace millrace::pg {

// The text of a one-dimensional PostgreSQL array ('{"a","b"}'), for passing a
// whole batch as one query parameter to unnest(). The statement text then
// stays the same whatever the batch holds, so PostgreSQL parses and plans a
// few lines instead of thousands of literals.
class ArrayLiteral {
 public:
  // Every element is double-quoted with '"' and '\' escaped, so any text
  // (commas, braces, spaces, the word NULL) arrives as it is.
  ArrayLiteral& add(std::string_view element);
  ArrayLiteral& add(std::int64_t element);
  // An SQL NULL element.
  ArrayLiteral& add_null();

  std::size_t size() const { return size_; }
  // The literal, closed; the object is empty again afterwards.
  std::string take();

 private:
  std::string text_ = "{";
  std::size_t size_ = 0;
};

}  // namespace millrace::pg
