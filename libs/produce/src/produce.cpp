#include "millrace/produce/produce.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "millrace/core/event_type.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/kinds/store_event.hpp"
#include "records.hpp"

namespace millrace::produce {

using Clock = std::chrono::steady_clock;

void register_options(core::OptionSet& o, SyntheticOptions& s) {
  core::declare(o, &s.count,
                {.flag = "count",
                 .help = "Make this many synthetic events (or records of --kind)",
                 .min = 0,
                 .max = 1'000'000'000});
  core::declare(o, &s.seed,
                {.flag = "seed",
                 .help = "Random seed for reproducible output (0: from the clock)",
                 .min = 0,
                 .max = INT64_MAX});
  core::declare(
      o, &s.bad_ratio,
      {.flag = "bad-ratio",
       .help = "Share of deliberately bad records, each spoilt in one place: a required field "
               "left out, a number as text or below its bounds, JSON cut short, or (store "
               "events) the event type left out or unknown",
       .min = 0,
       .max = 1});
  core::declare(o, &s.time_spread_s,
                {.flag = "time-spread",
                 .help = "Spread synthetic event times uniformly over the last N seconds",
                 .min = 0,
                 .max = 10LL * 365 * 86400});
  add_progress_option(o, s.progress);
}

std::uint64_t resolved_seed(const SyntheticOptions& s) {
  return s.seed != 0 ? static_cast<std::uint64_t>(s.seed)
                     : static_cast<std::uint64_t>(
                           std::chrono::system_clock::now().time_since_epoch().count());
}

void register_options(core::OptionSet& o, ProduceConfig& c) {
  kafka::register_options(o, c.kafka, kinds::topic_setting(kinds::store_event()));
  kinds::register_options(o, c.kinds, core::environment_map(), false);
  register_options(o, static_cast<SyntheticOptions&>(c));
  core::declare(o, &c.rate,
                {.flag = "rate",
                 .help = "Events per second (0: as fast as possible)",
                 .min = 0,
                 .max = 10'000'000});
  core::declare(
      o, &c.base_time,
      {.flag = "base-time",
       .help = "Event times end at this instant (RFC 3339) instead of following the clock: the "
               "same --seed and --base-time send the very same events again"});
  core::declare(
      o, &c.file,
      {.flag = "file",
       .help = "Send the NDJSON lines of this file as they are (\"-\": stdin); a store event's "
               "type header comes from its line's event_type field, a declared kind's key from "
               "its identity"});
}

void validate(ProduceConfig& c) {
  kafka::validate(c.kafka);
  c.kafka.topic = kinds::resolve(c.kinds, c.kafka.topic);
  if (c.count == 0 && c.file.empty()) throw core::UsageError("give --count N or --file PATH");
  if (c.count > 0 && !c.file.empty())
    throw core::UsageError("--count and --file exclude each other");
  if (!c.file.empty() &&
      (c.bad_ratio > 0 || c.seed != 0 || c.time_spread_s != 0 || !c.base_time.empty())) {
    throw core::UsageError(
        "--bad-ratio, --seed, --time-spread and --base-time apply to --count only");
  }
  if (!c.base_time.empty()) {
    c.base_ts = core::parse_timestamp(c.base_time);
    if (!c.base_ts) {
      throw core::UsageError(
          "--base-time: expected an RFC 3339 time such as "
          "2026-11-25T08:00:00Z, got \"" +
          c.base_time + "\"");
    }
  }
}

core::Int128 sale_value_micros(core::Decimal price, std::int32_t qty, core::Decimal discount,
                               bool is_return) {
  // price (1e-6) x qty x (100 - discount) (1e-6) / 100 -> scale 1e-12, then
  // back to 1e-6 with rounding half away from zero.
  const core::Int128 hundred = static_cast<core::Int128>(100) * core::Decimal::kOne;
  const core::Int128 raw =
      static_cast<core::Int128>(price.units()) * qty * (hundred - discount.units());
  const core::Int128 divisor = hundred;
  const core::Int128 micros = (raw + divisor / 2) / divisor;
  return is_return ? -micros : micros;
}

namespace {

std::string micros_to_text(core::Int128 micros) {
  const bool negative = micros < 0;
  if (negative) micros = -micros;
  // Rounded to cents for the summary; the exact figures live in PostgreSQL.
  const core::Int128 cents = (micros + 5000) / 10000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", negative ? "-" : "",
                static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
  return buf;
}

// Paces production at `rate` events/s without drifting: the schedule is
// computed from the start, not from the previous send.
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate), start_(Clock::now()) {}
  void wait_for(std::uint64_t sent) const {
    if (rate_ <= 0) return;
    const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(static_cast<double>(sent) / rate_));
    std::this_thread::sleep_until(due);
  }

 private:
  double rate_;
  Clock::time_point start_;
};

core::TimestampUs now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void count_valid(ProduceSummary& s, const kinds::StoreEventFields& f, const kinds::Record& e) {
  if (f.event_type(e) == core::EventType::kSale) {
    ++s.sale_events;
    s.sales_value_micros += sale_value_micros(f.price(e), f.qty(e), f.discount(e), f.is_return(e));
  } else {
    ++s.inventory_events;
  }
}

}  // namespace

std::string ProduceSummary::to_json() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"total\":%llu,\"bad\":%llu,\"sale_events\":%llu,\"inventory_events\":%llu,"
                "\"total_sales_value\":%s,\"delivered\":%llu,\"failed_deliveries\":%llu,"
                "\"duration_seconds\":%.3f,\"seed\":%llu",
                static_cast<unsigned long long>(total), static_cast<unsigned long long>(bad),
                static_cast<unsigned long long>(sale_events),
                static_cast<unsigned long long>(inventory_events),
                micros_to_text(sales_value_micros).c_str(),
                static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(failed_deliveries), duration_s,
                static_cast<unsigned long long>(seed));
  std::string out = buf;
  if (!kind.empty()) out += ",\"kind\":\"" + kind + "\",\"valid\":" + std::to_string(valid);
  if (failed_deliveries > 0) {
    out += ",\"first_error\":\"";
    for (const char c : first_error) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

ProduceSummary run_produce(const ProduceConfig& config, std::istream* input,
                           const std::atomic<bool>& stop, const ProgressFn& on_progress) {
  kafka::ProducerConfig pc;
  pc.brokers = config.kafka.brokers;
  pc.client_id = config.kafka.client_id;
  pc.extra = config.kafka.extra;
  kafka::Producer producer(pc);
  const std::int32_t partitions =
      producer.partition_count(config.kafka.topic, std::chrono::seconds(10));
  // Store events go to even or odd partitions by type; a declared kind's
  // records by their identity, to any.
  if (!config.kinds.declaration) core::require_even_partitions(config.kafka.topic, partitions);

  ProduceSummary s;
  const auto started = Clock::now();
  const Pacer pacer(config.rate);

  // How far: acknowledged events of the count, or bytes read of the file.
  std::optional<std::uintmax_t> file_size;
  if (input != nullptr && config.file != "-") {
    std::error_code ec;
    const auto size = std::filesystem::file_size(config.file, ec);
    if (!ec && size > 0) file_size = size;
  }
  ProgressClock progress_clock;
  const auto report = [&] {
    if (!on_progress) return;
    const auto stats = producer.stats();
    Progress p;
    p.done = s.total;
    p.acked = stats.delivered;
    p.failed = stats.failed;
    if (config.count > 0) {
      p.fraction = static_cast<double>(stats.delivered) / static_cast<double>(config.count);
    } else if (file_size) {
      const auto at = input->tellg();
      if (at >= 0) p.fraction = static_cast<double>(at) / static_cast<double>(*file_size);
    }
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
    on_progress(p);
  };

  const auto send = [&](std::string_view payload, std::optional<std::string_view> event_type,
                        bool priority, std::int32_t partition, std::string_view key) {
    const core::EventHeaders headers(event_type, priority);
    producer.produce(config.kafka.topic, partition, key, payload, headers.view());
    producer.poll();
    ++s.total;
    if (on_progress && progress_clock.ready()) report();
  };

  if (config.kinds.declaration) {
    s.kind = config.kinds.kind;
    detail::produce_records(
        config, input, partitions, stop, [&](std::uint64_t sent) { pacer.wait_for(sent); },
        [&](std::string_view payload, std::int32_t partition, std::string_view key) {
          send(payload, std::nullopt, false, partition, key);
        },
        s);
  } else {
    // A store event names its own type: each goes where its fields say,
    // read with its built-in declaration's codec (a valid one), else
    // where a lenient read finds it would go, whether read from the file
    // or generated.
    const auto store_event = kinds::find_kind(kinds::kStoreEvent, "");
    const kinds::DeclaredCodec codec(store_event, kinds::TypeFrom::kBody);
    const auto& fields = kinds::StoreEventFields::built_in();
    kinds::Record event;  // reused: its strings keep their capacity
    const auto send_store = [&](std::string_view json) {
      const bool valid = !codec.parse_into(json, std::nullopt, event);
      const auto route =
          valid ? core::route_store_event(fields.event_type(event), fields.store_id(event),
                                          fields.priority_shipping(event), partitions)
                : core::route_invalid_store_json(json, partitions);
      const std::optional<core::StoreKey> key =
          route.store_id ? std::optional<core::StoreKey>(core::StoreKey(*route.store_id))
                         : std::nullopt;
      send(json, route.header(), route.priority_shipping, route.partition,
           key ? key->view() : std::string_view());
      if (valid) {
        count_valid(s, fields, event);
      } else {
        ++s.bad;
      }
    };
    if (config.count > 0) {
      const auto declaration = kinds::find_kind(kinds::kStoreEvent, config.kinds.kinds_dir);
      kinds::RecordGeneratorOptions g;
      s.seed = resolved_seed(config);
      g.seed = s.seed;
      g.bad_ratio = config.bad_ratio;
      g.base_ts = config.base_ts.value_or(now_us());
      g.time_spread_us = config.time_spread_s * 1'000'000;
      kinds::RecordGenerator generator(declaration, g);
      for (std::int64_t i = 0; i < config.count && !stop; ++i) {
        pacer.wait_for(s.total);
        // Event time follows the clock, as it would from a store (unless a
        // base time fixes it).
        if (!config.base_ts) generator.set_base_ts(now_us());
        send_store(generator.next().payload);
      }
    } else {
      std::string line;
      while (!stop && std::getline(*input, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        pacer.wait_for(s.total);
        send_store(line);
      }
    }
  }

  // Every delivery report, however long it takes: the summary must be true.
  while (producer.flush(std::chrono::milliseconds(250)) > 0) report();
  report();
  const auto stats = producer.stats();
  s.delivered = stats.delivered;
  s.failed_deliveries = stats.failed;
  s.first_error = stats.first_error;
  s.duration_s = std::chrono::duration<double>(Clock::now() - started).count();
  return s;
}

}  // namespace millrace::produce
