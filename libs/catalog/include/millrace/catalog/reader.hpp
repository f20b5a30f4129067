#pragma once

// Reads a catalog file, CSV (RFC 4180, a header line naming the columns;
// libcsv) or NDJSON (one JSON object per line; RapidJSON), into records or
// per-line errors, one physical line at a time, so a file of any size is
// read in bounded memory and every error names its line. JSON whose first
// character is "[" is one array of objects, as REST APIs answer (Finnhub's
// /stock/symbol): it is held whole (a URL's body is capped) and unrolled at
// the end, each element a record numbered by its place in the array.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "millrace/catalog/records.hpp"

namespace millrace::catalog {

enum class Format { kCsv, kNdjson };
// "csv" or "ndjson" (also "jsonl"); nullopt otherwise.
std::optional<Format> parse_format(std::string_view name);
// From a file name's extension; nullopt when it says nothing.
std::optional<Format> format_of_path(std::string_view path);

// What one line (or CSV record, which may span lines) became.
struct Line {
  std::uint64_t number = 0;  // 1-based, where the record starts
  std::variant<Record, std::string> result;
};

// The input as a whole cannot be read: a CSV header with an unknown or
// repeated column or no key column, or a table that cannot be told from the
// first record. Misuse, not a bad line.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  // `table`: nullopt to tell it from the CSV header or the first JSON
  // object ("sku": products; "symbol": assets; "name": categories).
  Reader(Format format, std::optional<Table> table);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Feeds one physical line, without its line ending. Appends what it
  // completes to `out`. Throws InputError.
  void feed_line(std::string_view line, std::vector<Line>& out);
  // The end of the input: a CSV record left open (an unclosed quote) is an
  // error on its line; a JSON array's elements are read. Throws InputError
  // (an array that is not JSON).
  void finish(std::vector<Line>& out);

  std::optional<Table> table() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::catalog
