#pragma once

// `millrace catalog load`'s parts, for its unit tests.

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>

#include "millrace/catalog/reader.hpp"
#include "millrace/catalog/records.hpp"
#include "millrace/catalog/store.hpp"
#include "millrace/cli/ports.hpp"

namespace millrace::cli {

struct LoadSummary {
  std::string table;
  std::uint64_t lines = 0, records = 0, refused = 0;
  catalog::UpsertCounts counts;
  double duration_s = 0;

  std::string to_json() const;
};

// "30s", "5m", "1h" or "2d": a reload period.
std::optional<std::chrono::seconds> parse_period(const std::string& text);

// What one load is given and how it reports.
struct LoadInput {
  std::istream* in = nullptr;
  std::string name;  // the file or URL, in messages
  catalog::Format format = catalog::Format::kCsv;
  std::optional<catalog::Table> table;
  std::optional<double> size;  // bytes, for the progress fraction
  bool progress = false;
};

// At most this many refused lines are printed; the summary counts them all.
inline constexpr std::uint64_t kPrintedErrors = 1000;

// Reads `input` line by line and upserts what passes in one transaction
// (nothing when no line passes). A product whose category `db` does not
// know is refused. Refused lines are printed (the first kPrintedErrors) to
// `err` with their line numbers. Throws catalog::InputError for input that
// cannot be read at all.
LoadSummary load(CatalogDb& db, const LoadInput& input, std::ostream& err);

}  // namespace millrace::cli
