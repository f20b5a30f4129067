#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kafka/types.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/produce/progress.hpp"

namespace millrace::produce {

// The synthetic stream `produce` sends and `generate` writes, declared
// once for both: how many, from which seed, how many bad on purpose, the
// spread of their times, and the progress line on stderr.
struct SyntheticOptions {
  std::int64_t count = 0;                       // synthetic events to make
  std::int64_t seed = 0;                        // 0 = from the clock
  double bad_ratio = 0;                         // share of deliberately bad messages
  std::int64_t time_spread_s = 0;               // synthetic ts spread over the last N seconds
  ShowProgress progress = ShowProgress::kAuto;  // auto (stderr is a terminal), always, never
};
void register_options(core::OptionSet& options, SyntheticOptions& synthetic);
// The seed to use: `seed`, or one from the clock for 0.
std::uint64_t resolved_seed(const SyntheticOptions& synthetic);

struct ProduceConfig : SyntheticOptions {
  kafka::KafkaClientOptions kafka =
      kafka::client_options("millrace-cli", kinds::store_event().topic);
  double rate = 0;   // events per second, 0 = as fast as possible
  std::string file;  // NDJSON path, or "-" for stdin; excludes --count
  // RFC 3339: event times end at this instant instead of following the
  // clock, so the same seed gives the very same events (a resent upload).
  std::string base_time;
  std::optional<core::TimestampUs> base_ts;  // base_time, parsed by validate()
  // The kind produced (--kind): store events, or a declared kind.
  kinds::KindOptions kinds;
};

void register_options(core::OptionSet& options, ProduceConfig& config);
// Throws core::UsageError: exactly one of --count / --file, ranges.
void validate(ProduceConfig& config);

// The JSON summary printed at the end, modelled on the original producer's
// response (tot_msgs, bad_msgs, sale_evnts, inventory_evnts, tot_sales).
struct ProduceSummary {
  std::uint64_t total = 0;
  std::uint64_t bad = 0;
  std::uint64_t sale_events = 0;
  std::uint64_t inventory_events = 0;
  std::string kind;         // a declared kind's name; empty for store events
  std::uint64_t valid = 0;  // a declared kind's valid records
  // Sum over valid sale events of price x qty x (1 - discount/100), returns
  // negative, in micro-units (core::Decimal scale).
  core::Int128 sales_value_micros = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed_deliveries = 0;
  std::string first_error;
  double duration_s = 0;
  std::uint64_t seed = 0;

  std::string to_json() const;
};

// Revenue of one sale event in micro-units: price x qty x (1 - discount/100),
// rounded half away from zero; negative for a return.
core::Int128 sale_value_micros(core::Decimal price, std::int32_t qty, core::Decimal discount,
                               bool is_return);

// Produces synthetic events (config.count) or the lines of `input`
// (config.file), waits for every delivery report, and returns the summary.
// `stop` ends production early (SIGINT): what was queued is still flushed.
// `on_progress`, if set, hears how far it got a few times a second.
ProduceSummary run_produce(const ProduceConfig& config, std::istream* input,
                           const std::atomic<bool>& stop, const ProgressFn& on_progress = {});

// `millrace generate`: the synthetic stream written to a stream instead of
// Kafka, for files, benchmarks and other tools.
struct GenerateConfig : SyntheticOptions {
  // The same events every time unless --seed says otherwise.
  GenerateConfig() { seed = 42; }
  // The kind made (--kind), from its declaration's generate rules; set by
  // validate().
  std::string kind = std::string(kinds::kStoreEvent);
  std::string kinds_dir;
  std::optional<kinds::Declaration> declaration;
  // ndjson: one message per line, a store event's event_type in the body
  // (what `produce --file` sends). copy: PostgreSQL COPY text rows of the
  // valid records in their table's columns (pg::record_columns: a
  // reference load for benchmarks).
  std::string format = "ndjson";
  // categories or products: instead of events, the reference catalog that
  // matches them (the CLI writes it; --format ndjson or csv).
  std::string catalog;
};

void register_options(core::OptionSet& options, GenerateConfig& config);
// Throws core::UsageError; finds the declaration of --kind.
void validate(GenerateConfig& config);
// Encodes the index-th generated record of config.declaration as one COPY
// row, newline included. The caller supplies it (the CLI, with libs/pg's
// row writer, the sink's), so this library needs no PostgreSQL.
using CopyRowEncoder =
    std::function<std::string_view(const kinds::Record& record, std::int64_t index)>;
// Returns the number of lines written. `copy_row` is needed for --format copy.
std::uint64_t run_generate(const GenerateConfig& config, std::ostream& out,
                           const CopyRowEncoder& copy_row, const ProgressFn& on_progress = {});

}  // namespace millrace::produce
