#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::pg {

struct ViewInfo {
  std::string_view name;
  std::string_view description;
};

// The public views, a stable interface (docs/views.md).
std::span<const ViewInfo> public_views();
const ViewInfo* find_view(std::string_view name);

// A result as text, NULL as nullopt; numbers keep PostgreSQL's exact text.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Reads one public view. Throws std::invalid_argument for an unknown name.
Table read_view(pqxx::connection& connection, std::string_view name);

enum class Format { kTable, kJson, kCsv };
std::optional<Format> parse_format(std::string_view text);

// Aligned text like psql's; JSON: an array of objects with numbers unquoted
// (exact, as PostgreSQL printed them); CSV per RFC 4180 with a header line.
std::string render(const Table& table, Format format);

}  // namespace millrace::pg
