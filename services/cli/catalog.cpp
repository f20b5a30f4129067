// millrace catalog load: the reference catalog (categories, products) from a
// CSV or NDJSON file into PostgreSQL; and the catalog `millrace generate
// --catalog` writes.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "millrace/catalog/generated.hpp"
#include "millrace/catalog/reader.hpp"
#include "millrace/catalog/store.hpp"
#include "millrace/catalog/writer.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/produce/progress.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kUsage =
    "usage: millrace catalog <command> [flags]\n"
    "\n"
    "commands:\n"
    "  load FILE  upsert categories or products from CSV or NDJSON (- for stdin)\n";

// At most this many refused lines are printed; the summary counts them all.
constexpr std::uint64_t kPrintedErrors = 1000;

struct LoadSummary {
  std::string table;
  std::uint64_t lines = 0, records = 0, refused = 0;
  catalog::UpsertCounts counts;
  double duration_s = 0;

  std::string to_json() const {
    return "{\"table\":\"" + table + "\",\"lines\":" + std::to_string(lines) +
           ",\"records\":" + std::to_string(records) +
           ",\"inserted\":" + std::to_string(counts.inserted) +
           ",\"updated\":" + std::to_string(counts.updated) +
           ",\"unchanged\":" + std::to_string(counts.unchanged) +
           ",\"refused\":" + std::to_string(refused) +
           ",\"duration_seconds\":" + std::to_string(duration_s) + "}";
  }
};

int cmd_load(const std::vector<std::string>& args) {
  pg::PgOptions pg;
  std::string table_flag, format_flag, progress = "auto";
  core::OptionSet options(
      "millrace catalog load",
      "Upserts the reference catalog from FILE (CSV with a header line, or NDJSON; - reads "
      "stdin) into categories or products, in one transaction. Every line is checked first; "
      "refused lines are reported with their line numbers and the rest is loaded. Prints a JSON "
      "summary. Exit 0 when every line loaded, 1 when any was refused (or the load failed), 2 "
      "on misuse.");
  pg::register_options(options, pg);
  options.add_string("table", "", &table_flag,
                     "categories or products (default: from the CSV header or the first "
                     "object: sku means products, name categories)");
  options.add_string("format", "", &format_flag,
                     "csv or ndjson (default: from the file's extension; needed for stdin)");
  produce::add_progress_option(options, progress);
  std::vector<std::string> files;
  std::optional<catalog::Table> table;
  std::optional<catalog::Format> format;
  if (const auto exit = parse_flags(
          options, args, "catalog load",
          [&] {
            pg::validate(pg);
            produce::validate_progress(progress);
            if (files.size() != 1) throw core::UsageError("give one FILE (- for stdin)");
            if (!table_flag.empty()) {
              table = catalog::parse_table(table_flag);
              if (!table) {
                throw core::UsageError("--table: expected categories or products, got \"" +
                                       table_flag + "\"");
              }
            }
            format = format_flag.empty() ? catalog::format_of_path(files[0])
                                         : catalog::parse_format(format_flag);
            if (!format) {
              throw core::UsageError(
                  format_flag.empty()
                      ? "cannot tell the format of " + files[0] + ": give --format csv or ndjson"
                      : "--format: expected csv or ndjson, got \"" + format_flag + "\"");
            }
          },
          &files)) {
    return *exit;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  std::optional<double> size;
  if (files[0] != "-") {
    file.open(files[0], std::ios::binary);
    if (!file) return usage_error("catalog load", "cannot open " + files[0]);
    struct stat st {};
    if (::stat(files[0].c_str(), &st) == 0 && st.st_size > 0)
      size = static_cast<double>(st.st_size);
    in = &file;
  }

  const auto started = std::chrono::steady_clock::now();
  auto conn = pg::connect(pg.url, pg.schema, "millrace-catalog-load", pg.connect_limits());
  catalog::Reader reader(*format, table);
  std::optional<catalog::Upsert> upsert;
  std::set<std::string> known_categories;
  LoadSummary summary;
  std::optional<produce::ProgressLine> bar;
  if (produce::show_progress(progress)) bar.emplace(stderr, /*acks=*/false);
  produce::ProgressClock clock;
  produce::Progress p;
  double bytes = 0;
  const auto report = [&] {
    p.done = summary.records;
    if (size) p.fraction = std::min(1.0, bytes / *size);
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  std::vector<catalog::Line> out;
  const auto take = [&] {
    for (auto& line : out) {
      if (!upsert && reader.table()) {
        // Before the load's transaction begins (one at a time per connection).
        if (*reader.table() == catalog::Table::kProducts) {
          known_categories = catalog::category_names(*conn);
        }
        upsert.emplace(*conn, *reader.table());
        summary.table = std::string(catalog::table_name(*reader.table()));
      }
      auto* record = std::get_if<catalog::Record>(&line.result);
      std::string why = record == nullptr ? std::get<std::string>(line.result) : "";
      if (record != nullptr) {
        if (const auto* product = std::get_if<catalog::Product>(record);
            product != nullptr && known_categories.count(product->category) == 0) {
          why = "category \"" + product->category +
                "\" is not in the catalog (load categories first)";
        }
      }
      if (why.empty()) {
        upsert->add(*record);
        ++summary.records;
      } else {
        if (summary.refused++ < kPrintedErrors) {
          std::fprintf(stderr, "%s:%llu: %s\n", files[0].c_str(),
                       static_cast<unsigned long long>(line.number), why.c_str());
        }
      }
    }
    out.clear();
  };
  try {
    std::string text;
    while (std::getline(*in, text)) {
      ++summary.lines;
      bytes += static_cast<double>(text.size() + 1);
      reader.feed_line(text, out);
      take();
      if (bar && clock.ready()) {
        report();
        bar->update(p);
      }
    }
    reader.finish(out);
    take();
  } catch (const catalog::InputError& e) {
    if (bar) bar->finish(p);
    return usage_error("catalog load", files[0] + ": " + e.what());
  }
  if (in->bad()) throw std::runtime_error("reading " + files[0] + " failed");
  if (upsert) summary.counts = upsert->commit();
  if (summary.refused > kPrintedErrors) {
    std::fprintf(stderr, "%s: %llu more refused line(s) not shown\n", files[0].c_str(),
                 static_cast<unsigned long long>(summary.refused - kPrintedErrors));
  }
  report();
  if (bar) bar->finish(p);
  summary.duration_s = p.elapsed_s;
  std::printf("%s\n", summary.to_json().c_str());
  return summary.refused == 0 ? 0 : 1;
}

}  // namespace

int cmd_catalog(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "load") return cmd_load(rest);
  return usage_error("catalog", "unknown command \"" + args[0] + "\"");
}

int write_catalog(const std::string& table, const std::string& format, std::ostream& out) {
  const bool csv = format == "csv";
  const auto write = [&](const auto& records, catalog::Table t) {
    if (csv) out << catalog::csv_header(t) << '\n';
    for (const auto& r : records) {
      out << (csv ? catalog::to_csv(r) : catalog::to_ndjson(r)) << '\n';
    }
  };
  if (table == "categories") {
    write(catalog::generated_categories(), catalog::Table::kCategories);
  } else {
    write(catalog::generated_products(), catalog::Table::kProducts);
  }
  out.flush();
  return out ? 0 : 1;
}

}  // namespace millrace::cli
