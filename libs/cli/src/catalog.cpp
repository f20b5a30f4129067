// millrace catalog load: the reference data (categories, products, assets)
// from a CSV or JSON file or URL into PostgreSQL; and the catalog `millrace
// generate --catalog` writes.
#include "catalog.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

#include "common.hpp"
#include "millrace/catalog/fetch.hpp"
#include "millrace/catalog/generated.hpp"
#include "millrace/catalog/writer.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/core/values.hpp"
#include "millrace/produce/progress.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kCatalogUsage =
    "usage: millrace catalog <command> [flags]\n"
    "\n"
    "commands:\n"
    "  load SOURCE  upsert categories, products or assets from CSV or JSON: a file, - for\n"
    "               stdin, or a URL (--every DURATION reloads it)\n";

// The format of a fetched body: --format, else its Content-Type, else the
// URL's path.
std::optional<catalog::Format> format_of_fetched(const std::optional<catalog::Format>& flag,
                                                 const catalog::Fetched& fetched) {
  if (flag) return flag;
  if (auto f = catalog::format_of_content_type(fetched.content_type)) return f;
  std::string path = fetched.url.substr(0, fetched.url.find_first_of("?#"));
  return catalog::format_of_path(path);
}

// `catalog load`'s flags, as given and as parsed.
struct LoadFlags {
  pg::PgOptions pg;
  std::string table_flag, format_flag, every_flag;
  produce::ShowProgress progress = produce::ShowProgress::kAuto;
  std::int64_t timeout_s = 30, max_bytes = 64ll << 20;
  std::vector<std::string> sources;
  std::optional<catalog::Table> table;
  std::optional<catalog::Format> format;
  std::optional<std::chrono::seconds> every;
  bool url = false;

  void add(core::OptionSet& options) {
    pg::register_options(options, pg);
    // Flags without a variable: a load names its own source.
    const struct {
      const char* name;
      std::string* value;
      const char* help;
    } strings[] = {
        {"table", &table_flag,
         "categories, products or assets (default: from the CSV header or the first object: sku "
         "means products, symbol assets, name categories)"},
        {"format", &format_flag,
         "csv or ndjson (default: from the file's extension or the URL's Content-Type or path; "
         "needed for stdin); ndjson also reads one JSON array of objects"},
        {"every", &every_flag, "load again every DURATION (30s, 5m, 1h, 1d) until stopped"},
    };
    for (const auto& flag : strings)
      core::declare(options, flag.value, {.flag = flag.name, .help = flag.help});
    core::declare(options, &timeout_s,
                  {.flag = "timeout-s",
                   .help = "a URL's whole transfer must end within this",
                   .min = 1,
                   .max = 3600,
                   .unit = core::DurationUnit::kSeconds});
    core::declare(options, &max_bytes,
                  {.flag = "max-bytes",
                   .help = "a URL's body larger than this is refused",
                   .min = 1,
                   .max = std::int64_t{1} << 40});
    produce::add_progress_option(options, progress);
  }

  void validate() {
    pg::validate(pg);
    if (sources.size() != 1) {
      throw core::UsageError("give one SOURCE: a file, - for stdin, or a URL");
    }
    url = catalog::is_url(sources[0]);
    if (!table_flag.empty()) {
      table = catalog::parse_table(table_flag);
      if (!table) {
        throw core::UsageError("--table: expected categories, products or assets, got \"" +
                               table_flag + "\"");
      }
    }
    if (!format_flag.empty()) {
      format = catalog::parse_format(format_flag);
      if (!format) {
        throw core::UsageError("--format: expected csv or ndjson, got \"" + format_flag + "\"");
      }
    } else if (!url) {
      format = catalog::format_of_path(sources[0]);
      if (!format) {
        throw core::UsageError("cannot tell the format of " + sources[0] +
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
      if (sources[0] == "-") throw core::UsageError("--every cannot reload stdin");
    }
  }
};

// What a round of --every logs: what changed.
std::string round_report(const std::string& source, const LoadSummary& summary) {
  const auto& c = summary.counts;
  return source + ": " +
         (c.inserted + c.updated == 0 ? std::string("no change")
                                      : std::to_string(c.inserted) + " inserted, " +
                                            std::to_string(c.updated) + " updated") +
         " (" + std::to_string(c.unchanged) + " unchanged, " + std::to_string(summary.refused) +
         " refused) in " + summary.table;
}

int cmd_load(const std::vector<std::string>& args, Context& ctx) {
  LoadFlags flags;
  core::OptionSet options(
      "millrace catalog load",
      "Upserts the reference data from SOURCE (CSV with a header line, NDJSON, or one JSON array "
      "of objects as REST APIs answer) into categories, products or assets, in one transaction "
      "(fields assets do not have, such as Finnhub's figi and mic, are ignored). SOURCE is a "
      "file, - for stdin, or an http:// "
      "or https:// URL (TLS verified; the format from --format, the Content-Type or the path). "
      "Every line is checked first; refused lines are reported with their line numbers and the "
      "rest is loaded. Only rows that differ are written. Prints a JSON summary. Exit 0 when "
      "every line loaded, 1 when any was refused (or the load failed), 2 on misuse. With "
      "--every, loads again each period until SIGINT or SIGTERM (exit 0), logging what changed; "
      "a failed round is reported and the next one tried.");
  flags.add(options);
  if (const auto exit = parse_flags(
          ctx, options, args, "catalog load", [&] { flags.validate(); }, &flags.sources)) {
    return *exit;
  }
  const std::string source = flags.sources[0];
  catalog::FetchLimits limits;
  limits.timeout = std::chrono::seconds(flags.timeout_s);
  limits.max_bytes = static_cast<std::uint64_t>(flags.max_bytes);
  std::function<bool(std::chrono::seconds)> wait;
  if (flags.every) wait = ctx.backend.shutdown_wait();  // before any thread starts

  // One round: read the source, load it. Returns the exit status.
  std::unique_ptr<CatalogDb> db;
  const auto round = [&]() -> int {
    std::ifstream file;
    std::istringstream body;
    LoadInput input;
    input.name = source;
    input.table = flags.table;
    input.progress = produce::show_progress(flags.progress) && !flags.every;
    if (flags.url) {
      auto fetched = ctx.backend.fetch(source, limits);
      const auto f = format_of_fetched(flags.format, fetched);
      if (!f) {
        throw core::UsageError("cannot tell the format of " + source + " (Content-Type \"" +
                               fetched.content_type + "\"): give --format csv or ndjson");
      }
      input.format = *f;
      input.size = static_cast<double>(fetched.body.size());
      body.str(std::move(fetched.body));
      input.in = &body;
    } else if (source == "-") {
      input.format = *flags.format;
      input.in = &ctx.in;
    } else {
      file.open(source, std::ios::binary);
      if (!file) throw core::UsageError("cannot open " + source);
      struct stat st {};
      if (::stat(source.c_str(), &st) == 0 && st.st_size > 0) {
        input.size = static_cast<double>(st.st_size);
      }
      input.format = *flags.format;
      input.in = &file;
    }
    if (!db || !db->is_open()) db = ctx.backend.catalog_db(flags.pg);
    const auto summary = load(*db, input, ctx.err);
    ctx.out << summary.to_json() << "\n";
    ctx.out.flush();
    if (flags.every) runtime::log_info("catalog", round_report(source, summary));
    return summary.refused == 0 ? 0 : 1;
  };

  if (!flags.every) {
    try {
      return round();
    } catch (const core::UsageError& e) {
      return usage_error(ctx, "catalog load", e.what());
    } catch (const catalog::InputError& e) {
      return usage_error(ctx, "catalog load", source + ": " + e.what());
    } catch (const core::InfraError& e) {
      ctx.err << "millrace catalog load: " << e.what() << "\n";
      return 1;
    }
  }
  runtime::log_info(
      "catalog", "loading " + source + " every " + flags.every_flag + " until SIGINT or SIGTERM");
  for (;;) {
    try {
      round();
    } catch (const std::exception& e) {
      // The next round may find the server back or the file fixed.
      db.reset();
      runtime::log_warn("catalog", std::string("this round failed: ") + e.what() +
                                       "; trying again in " + flags.every_flag);
    }
    if (wait(*flags.every)) break;
  }
  runtime::log_info("catalog", "stopped");
  return 0;
}

}  // namespace

std::string LoadSummary::to_json() const {
  return "{\"table\":\"" + table + "\",\"lines\":" + std::to_string(lines) +
         ",\"records\":" + std::to_string(records) +
         ",\"inserted\":" + std::to_string(counts.inserted) +
         ",\"updated\":" + std::to_string(counts.updated) +
         ",\"unchanged\":" + std::to_string(counts.unchanged) +
         ",\"refused\":" + std::to_string(refused) +
         ",\"duration_seconds\":" + std::to_string(duration_s) + "}";
}

std::optional<std::chrono::seconds> parse_period(const std::string& text) {
  std::chrono::milliseconds d{0};
  try {
    d = core::parse_duration(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  if (d < std::chrono::seconds(1) || d % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

LoadSummary load(CatalogDb& db, const LoadInput& input, std::ostream& err) {
  const auto started = std::chrono::steady_clock::now();
  catalog::Reader reader(input.format, input.table);
  std::unique_ptr<CatalogUpsert> upsert;
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
        if (*reader.table() == catalog::Table::kProducts) known_categories = db.category_names();
        upsert = db.upsert(*reader.table());
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
      } else if (summary.refused++ < kPrintedErrors) {
        err << input.name << ":" << line.number << ": " << why << "\n";
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
    err << input.name << ": " << (summary.refused - kPrintedErrors)
        << " more refused line(s) not shown\n";
  }
  report();
  if (bar) bar->finish(p);
  summary.duration_s = p.elapsed_s;
  return summary;
}

int cmd_catalog(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(ctx, "catalog", kCatalogUsage, {{"load", cmd_load}}, args);
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
