// millrace generate: synthetic records of any kind, the store event's too,
// from its declaration (kinds::RecordGenerator), as NDJSON or as COPY rows.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include "millrace/core/failure.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/produce/produce.hpp"

namespace millrace::produce {

void register_options(core::OptionSet& o, GenerateConfig& c) {
  register_options(o, static_cast<SyntheticOptions&>(c));
  core::declare(
      o, &c.kind,
      {.flag = "kind",
       .help = "The kind of records made: store_event, order, or one declared in "
               "--kinds-dir (docs/kinds.md), each from its declaration's generate rules"});
  kinds::register_kinds_dir(o, &c.kinds_dir);
  core::declare(
      o, &c.format,
      {.flag = "format",
       .help = "ndjson (messages) or copy (COPY rows of the valid records, in their table's "
               "columns); with --catalog, ndjson or csv"});
  core::declare(
      o, &c.catalog,
      {.flag = "catalog",
       .help = "categories or products: write the reference catalog that matches the events "
               "(every category and sku they draw), for `millrace catalog load`, instead of "
               "events"});
}

void validate(GenerateConfig& c) {
  if (!c.catalog.empty()) {
    if (c.catalog != "categories" && c.catalog != "products") {
      throw core::UsageError("--catalog: expected categories or products, got \"" + c.catalog +
                             "\"");
    }
    if (c.format != "ndjson" && c.format != "csv") {
      throw core::UsageError("--format: expected ndjson or csv with --catalog, got \"" + c.format +
                             "\"");
    }
    if (c.count != 0 || c.bad_ratio > 0 || c.time_spread_s != 0) {
      throw core::UsageError(
          "--count, --bad-ratio and --time-spread are for events, not --catalog");
    }
    return;
  }
  if (c.count == 0) throw core::UsageError("give --count N (or --catalog TABLE)");
  if (c.format != "ndjson" && c.format != "copy") {
    throw core::UsageError("--format: expected ndjson or copy, got \"" + c.format + "\"");
  }
  if (c.format == "copy" && c.bad_ratio > 0) {
    throw core::UsageError("--bad-ratio makes no sense with --format copy (only valid events)");
  }
  c.declaration = kinds::find_kind(c.kind, c.kinds_dir);
}

std::uint64_t run_generate(const GenerateConfig& config, std::ostream& out,
                           const CopyRowEncoder& copy_row, const ProgressFn& on_progress) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  ProgressClock progress_clock;
  const auto report = [&](std::int64_t generated, std::uint64_t written) {
    Progress p;
    p.done = written;
    p.fraction = static_cast<double>(generated) / static_cast<double>(config.count);
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    on_progress(p);
  };
  if (!config.declaration) throw std::logic_error("run_generate: validate() finds the kind");
  if (config.format == "copy" && !copy_row) {
    throw std::logic_error("run_generate: --format copy needs a COPY row encoder");
  }
  const auto& d = *config.declaration;
  kinds::RecordGeneratorOptions g;
  g.seed = resolved_seed(config);
  g.bad_ratio = config.bad_ratio;
  g.base_ts = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  g.time_spread_us = config.time_spread_s * 1'000'000;
  kinds::RecordGenerator generator(d, g);
  std::uint64_t lines = 0;
  for (std::int64_t i = 0; i < config.count; ++i) {
    if (on_progress && progress_clock.ready()) report(i, lines);
    const auto r = generator.next();
    if (config.format == "ndjson") {
      out << r.payload << '\n';
      ++lines;
      continue;
    }
    // The row writer takes the record as the sink would read it: with the
    // type header a producer sends it with (the body's event_type).
    std::optional<std::string> header;
    if (d.type_header) header = core::routing_hint(r.payload).raw_event_type;
    auto parsed = kinds::parse_record(d, r.payload, header);
    const auto* record = std::get_if<kinds::Record>(&parsed);
    if (record == nullptr) {
      // No bad records with --format copy: a refusal is the generator's bug.
      const auto& why = std::get<core::Rejection>(parsed);
      throw std::logic_error("generated record refused (" +
                             std::string(core::reason_code(why.reason)) + " " + why.field + ": " +
                             why.detail + "): " + r.payload);
    }
    out << copy_row(*record, i);
    ++lines;
  }
  if (on_progress) report(config.count, lines);
  return lines;
}

}  // namespace millrace::produce
