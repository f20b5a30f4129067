#pragma once

// Reading a query's row into a struct: its columns, in the SELECT's order,
// each converted to the type of the member it fills.

#include <optional>
#include <pqxx/field>
#include <pqxx/row>
#include <string>
#include <vector>

namespace millrace::pg {

// The elements of a text[] column (empty for NULL; NULL elements left out).
inline std::vector<std::string> text_array(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  auto parser = field.as_array();
  for (auto e = parser.get_next(); e.first != pqxx::array_parser::juncture::done;
       e = parser.get_next()) {
    if (e.first == pqxx::array_parser::juncture::string_value) out.push_back(e.second);
  }
  return out;
}

// One column into `out`: pqxx's conversion to its type (NULL refused, as
// pqxx does), text_array, or a std::optional.
template <typename T>
void read_field(const pqxx::field& field, T& out) {
  out = field.as<T>();
}
inline void read_field(const pqxx::field& field, std::vector<std::string>& out) {
  out = text_array(field);
}
// A nullable column: empty for NULL.
template <typename T>
void read_field(const pqxx::field& field, std::optional<T>& out) {
  if (field.is_null()) {
    out.reset();
  } else {
    out = field.as<T>();
  }
}

// The row's columns, the first into the first of `out`, and so on:
//   read_row(r, b.id, b.state, b.table);  // SELECT id, state, table_name ...
template <typename... T>
void read_row(const pqxx::row& row, T&... out) {
  pqxx::row::size_type column = 0;
  (read_field(row[column++], out), ...);
}

}  // namespace millrace::pg
