// millrace catalog load: the reference catalog (categories, products) from a
// CSV or NDJSON file into PostgreSQL; and the catalog `millrace generate
// --catalog` writes.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "millrace/catalog/fetch.hpp"
#include "millrace/catalog/generated.hpp"
#include "millrace/catalog/reader.hpp"
#include "millrace/catalog/store.hpp"
#include "millrace/catalog/writer.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/produce/progress.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/signals.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kUsage =
    "usage: millrace catalog <command> [flags]\n"
    "\n"
    "commands:\n"
    "  load SOURCE  upsert categories or products from CSV or NDJSON: a file, - for stdin, or a\n"
    "               URL (--every DURATION reloads it)\n";

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

// "30s", "5m", "1h" or "2d": a reload period.
std::optional<std::chrono::seconds> parse_period(const std::string& text) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (n <= 0 || used + 1 != text.size()) return std::nullopt;
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::minutes(n);
    case 'h':
      return std::chrono::hours(n);
    case 'd':
      return std::chrono::hours(24 * n);
    default:
      return std::nullopt;
  }
}

// What one load is given and how it reports.
struct LoadInput {
  std::istream* in = nullptr;
  std::string name;  // the file or URL, in messages
  catalog::Format format = catalog::Format::kCsv;
  std::optional<catalog::Table> table;
  std::optional<double> size;  // bytes, for the progress fraction
  bool progress = false;
};

// Reads `input` line by line and upserts what passes into PostgreSQL in one
// transaction (nothing when no line passes). Refused lines are printed
// (the first kPrintedErrors) to stderr with their line numbers. Throws
// catalog::InputError for input that cannot be read at all.
LoadSummary load(pqxx::connection& conn, const LoadInput& input) {
  const auto started = std::chrono::steady_clock::now();
  catalog::Reader reader(input.format, input.table);
  std::optional<catalog::Upsert> upsert;
  std::set<std::string> known_categories;
  LoadSummary summary;
  std::optional<produce::ProgressLine> bar;
  if (input.progress) bar.emplace(stderr, /*acks=*/false);
  produce::ProgressClock clock;
  produce::Progress p;
  double bytes = 0;
  const auto report = [&] {
    p.done = summary.records;
    if (input.size) p.fraction = std::min(1.0, bytes / *input.size);
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  std::vector<catalog::Line> out;
  const auto take = [&] {
    for (auto& line : out) {
      if (!upsert && reader.table()) {
        // Before the load's transaction begins (one at a time per connection).
        if (*reader.table() == catalog::Table::kProducts) {
          known_categories = catalog::category_names(conn);
        }
        upsert.emplace(conn, *reader.table());
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
          std::fprintf(stderr, "%s:%llu: %s\n", input.name.c_str(),
                       static_cast<unsigned long long>(line.number), why.c_str());
        }
      }
    }
    out.clear();
  };
  try {
    std::string text;
    while (std::getline(*input.in, text)) {
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
  } catch (const catalog::InputError&) {
    if (bar) bar->finish(p);
    throw;
  }
  if (input.in->bad()) throw std::runtime_error("reading " + input.name + " failed");
  if (upsert) summary.counts = upsert->commit();
  if (summary.refused > kPrintedErrors) {
    std::fprintf(stderr, "%s: %llu more refused line(s) not shown\n", input.name.c_str(),
                 static_cast<unsigned long long>(summary.refused - kPrintedErrors));
  }
  report();
  if (bar) bar->finish(p);
  summary.duration_s = p.elapsed_s;
  return summary;
}

// The format of a fetched body: --format, else its Content-Type, else the
// URL's path.
std::optional<catalog::Format> format_of_fetched(const std::optional<catalog::Format>& flag,
                                                 const catalog::Fetched& fetched) {
  if (flag) return flag;
  if (auto f = catalog::format_of_content_type(fetched.content_type)) return f;
  std::string path = fetched.url.substr(0, fetched.url.find_first_of("?#"));
  return catalog::format_of_path(path);
}

int cmd_load(const std::vector<std::string>& args) {
  pg::PgOptions pg;
  std::string table_flag, format_flag, progress = "auto", every_flag;
  std::int64_t timeout_s = 30, max_bytes = 64ll << 20;
  core::OptionSet options(
      "millrace catalog load",
      "Upserts the reference catalog from SOURCE (CSV with a header line, or NDJSON) into "
      "categories or products, in one transaction. SOURCE is a file, - for stdin, or an http:// "
      "or https:// URL (TLS verified; the format from --format, the Content-Type or the path). "
      "Every line is checked first; refused lines are reported with their line numbers and the "
      "rest is loaded. Only rows that differ are written. Prints a JSON summary. Exit 0 when "
      "every line loaded, 1 when any was refused (or the load failed), 2 on misuse. With "
      "--every, loads again each period until SIGINT or SIGTERM (exit 0), logging what changed; "
      "a failed round is reported and the next one tried.");
  pg::register_options(options, pg);
  options.add_string("table", "", &table_flag,
                     "categories or products (default: from the CSV header or the first "
                     "object: sku means products, name categories)");
  options.add_string("format", "", &format_flag,
                     "csv or ndjson (default: from the file's extension or the URL's "
                     "Content-Type or path; needed for stdin)");
  options.add_string("every", "", &every_flag,
                     "load again every DURATION (30s, 5m, 1h, 1d) until stopped");
  options.add_int("timeout-s", "", &timeout_s, "a URL's whole transfer must end within this", 1,
                  3600);
  options.add_int("max-bytes", "", &max_bytes, "a URL's body larger than this is refused", 1,
                  std::int64_t{1} << 40);
  produce::add_progress_option(options, progress);
  std::vector<std::string> files;
  std::optional<catalog::Table> table;
  std::optional<catalog::Format> format;
  std::optional<std::chrono::seconds> every;
  bool url = false;
  if (const auto exit = parse_flags(
          options, args, "catalog load",
          [&] {
            pg::validate(pg);
            produce::validate_progress(progress);
            if (files.size() != 1) {
              throw core::UsageError("give one SOURCE: a file, - for stdin, or a URL");
            }
            url = catalog::is_url(files[0]);
            if (!table_flag.empty()) {
              table = catalog::parse_table(table_flag);
              if (!table) {
                throw core::UsageError("--table: expected categories or products, got \"" +
                                       table_flag + "\"");
              }
            }
            if (!format_flag.empty()) {
              format = catalog::parse_format(format_flag);
              if (!format) {
                throw core::UsageError("--format: expected csv or ndjson, got \"" + format_flag +
                                       "\"");
              }
            } else if (!url) {
              format = catalog::format_of_path(files[0]);
              if (!format) {
                throw core::UsageError("cannot tell the format of " + files[0] +
                                       ": give --format csv or ndjson");
              }
            }
            if (!every_flag.empty()) {
              every = parse_period(every_flag);
              if (!every) {
                throw core::UsageError(
                    "--every: expected a period such as 30s, 5m, 1h or 1d, "
                    "got \"" +
                    every_flag + "\"");
              }
              if (files[0] == "-") throw core::UsageError("--every cannot reload stdin");
            }
          },
          &files)) {
    return *exit;
  }
  const std::string source = files[0];
  catalog::FetchLimits limits;
  limits.timeout = std::chrono::seconds(timeout_s);
  limits.max_bytes = static_cast<std::uint64_t>(max_bytes);
  std::optional<runtime::ShutdownSignals> signals;
  if (every) signals.emplace();  // before any thread starts

  // One round: read the source, load it. Returns the exit status.
  std::unique_ptr<pqxx::connection> conn;
  const auto round = [&]() -> int {
    std::ifstream file;
    std::istringstream body;
    LoadInput input;
    input.name = source;
    input.table = table;
    input.progress = produce::show_progress(progress) && !every;
    if (url) {
      auto fetched = catalog::fetch(source, limits);
      const auto f = format_of_fetched(format, fetched);
      if (!f) {
        throw core::UsageError("cannot tell the format of " + source + " (Content-Type \"" +
                               fetched.content_type + "\"): give --format csv or ndjson");
      }
      input.format = *f;
      input.size = static_cast<double>(fetched.body.size());
      body.str(std::move(fetched.body));
      input.in = &body;
    } else if (source == "-") {
      input.format = *format;
      input.in = &std::cin;
    } else {
      file.open(source, std::ios::binary);
      if (!file) throw core::UsageError("cannot open " + source);
      struct stat st {};
      if (::stat(source.c_str(), &st) == 0 && st.st_size > 0) {
        input.size = static_cast<double>(st.st_size);
      }
      input.format = *format;
      input.in = &file;
    }
    if (!conn || !conn->is_open()) {
      conn = pg::connect(pg.url, pg.schema, "millrace-catalog-load", pg.connect_limits());
    }
    const auto summary = load(*conn, input);
    std::printf("%s\n", summary.to_json().c_str());
    std::fflush(stdout);
    if (every) {
      const auto& c = summary.counts;
      runtime::log_info(
          "catalog",
          source + ": " +
              (c.inserted + c.updated == 0 ? std::string("no change")
                                           : std::to_string(c.inserted) + " inserted, " +
                                                 std::to_string(c.updated) + " updated") +
              " (" + std::to_string(c.unchanged) + " unchanged, " +
              std::to_string(summary.refused) + " refused) in " + summary.table);
    }
    return summary.refused == 0 ? 0 : 1;
  };

  if (!every) {
    try {
      return round();
    } catch (const core::UsageError& e) {
      return usage_error("catalog load", e.what());
    } catch (const catalog::InputError& e) {
      return usage_error("catalog load", source + ": " + e.what());
    } catch (const core::InfraError& e) {
      std::fprintf(stderr, "millrace catalog load: %s\n", e.what());
      return 1;
    }
  }
  runtime::log_info("catalog",
                    "loading " + source + " every " + every_flag + " until SIGINT or SIGTERM");
  for (;;) {
    try {
      round();
    } catch (const std::exception& e) {
      // The next round may find the server back or the file fixed.
      conn.reset();
      runtime::log_warn("catalog", std::string("this round failed: ") + e.what() +
                                       "; trying again in " + every_flag);
    }
    if (signals->wait(*every)) break;
  }
  runtime::log_info("catalog", "stopped");
  return 0;
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
