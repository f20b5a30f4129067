#include "aggregates.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <thread>
#include <tuple>

#include "millrace/core/partitioner.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/reference/validation.hpp"
#include "store_events.hpp"

namespace millrace::testing {

using std::chrono::seconds;

namespace {

constexpr std::int64_t kHourUs = 3'600'000'000;
constexpr std::int64_t kDayUs = 24 * kHourUs;
constexpr std::int64_t kMaxFutureUs = kHourUs;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Uniform index below n from the rng, the same on every standard library.
std::size_t below(std::mt19937_64& rng, std::size_t n) {
  return static_cast<std::size_t>(rng() % n);
}

}  // namespace

AggregateScenario::AggregateScenario(Pipeline& pipeline, std::int64_t count, std::uint64_t seed,
                                     std::int64_t max_lateness_s, Order order)
    : group(pipeline.topic + "_agg"),
      p_(pipeline),
      now_us_(now_us()),
      max_lateness_us_(max_lateness_s * 1'000'000),
      seed_(seed),
      path_(pipeline.log_dir + "/" + pipeline.topic + ".ndjson") {
  const std::int64_t now = now_us_;
  std::mt19937_64 rng(seed);

  // Four days of events ending an hour ago, 1% invalid.
  kinds::RecordGeneratorOptions main;
  main.seed = seed;
  main.bad_ratio = 0.01;
  main.base_ts = now - kHourUs;
  main.time_spread_us = 4 * kDayUs;
  if (order == Order::kNearlyInTime) main.time_spread_us = 2 * kHourUs;
  auto generator = store_event_generator(main);
  for (std::int64_t i = 0; i < count; ++i) {
    if (order == Order::kNearlyInTime) {
      // The window's end walks from four days ago to an hour ago.
      generator.set_base_ts(now - kHourUs - 4 * kDayUs + 2 * kHourUs +
                            i * (4 * kDayUs - 2 * kHourUs) / count);
    }
    lines_.push_back(generator.next().payload);
  }
  if (order == Order::kShuffled) {
    // Many events arrive out of order.
    for (std::size_t i = lines_.size() - 1; i > 0; --i)
      std::swap(lines_[i], lines_[below(rng, i + 1)]);
  }

  // 2% duplicates, each inserted after its original.
  const std::size_t n = lines_.size();
  for (std::size_t k = 0; k < n / 50; ++k) {
    const std::size_t from = below(rng, n);
    const std::size_t to = from + 1 + below(rng, lines_.size() - from);
    lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(to), lines_[from]);
  }
  // Beyond the lateness limit: a day's worth from 12 days ago, in the second half.
  kinds::RecordGeneratorOptions old = main;
  old.seed = seed + 1;
  old.bad_ratio = 0;
  old.base_ts = now - 12 * kDayUs;
  old.time_spread_us = kDayUs;
  auto old_generator = store_event_generator(old);
  for (std::int64_t k = 0; k < count / 200; ++k) {
    const std::size_t at = lines_.size() / 2 + below(rng, lines_.size() / 2);
    const std::string line = old_generator.next().payload;
    lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), line);
    // One in ten is sent again later: late twice, stored in late_events once.
    if (k % 10 == 0) {
      const std::size_t again = at + 1 + below(rng, lines_.size() - at);
      lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(again), line);
    }
  }
  // From a producer whose clock is three hours ahead.
  kinds::RecordGeneratorOptions ahead = old;
  ahead.seed = seed + 2;
  ahead.base_ts = now + 3 * kHourUs;
  ahead.time_spread_us = kHourUs;
  auto ahead_generator = store_event_generator(ahead);
  for (int k = 0; k < 100; ++k) {
    const std::size_t at = below(rng, lines_.size());
    lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), ahead_generator.next().payload);
  }

  first_lines_ = lines_.size();
  for (const auto& line : lines_) fold(line);
}

void AggregateScenario::fold(const std::string& line) {
  const auto hint = core::routing_hint(line);
  const std::int32_t partition =
      hint.event_type && hint.store_id
          ? core::partition_for(*hint.event_type, *hint.store_id, p_.partitions)
          : core::partition_for_bytes(line.data(), line.size(), p_.partitions);
  const auto parsed = core::parse_event(
      line,
      hint.raw_event_type ? std::optional<std::string_view>(*hint.raw_event_type) : std::nullopt);
  const auto* e = std::get_if<core::StoreEvent>(&parsed);
  if (e == nullptr) {
    ++invalid;
    return;
  }
  auto& m = max_ts_[partition];
  if (e->ts > now_us_ + kMaxFutureUs) {
    ++future;
  } else if (m && e->ts < *m - max_lateness_us_) {
    ++late;
    late_ids_.insert(e->id);
  } else {
    if (!m || e->ts > *m) m = e->ts;
    if (seen_.insert(e->id).second) {
      ++counted;
      counted_events_.push_back(*e);
    } else {
      ++duplicates;
    }
  }
}

std::map<std::string, std::string> AggregateScenario::aggregator_env() const {
  return {{"MILLRACE_AGGREGATOR_GROUP", group},
          {"MILLRACE_MAX_LATENESS_S", std::to_string(max_lateness_us_ / 1'000'000)}};
}

void AggregateScenario::verify_seen_ids_pruned() {
  pqxx::connection c(p_.env.pg);
  pqxx::work tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(p_.schema));
  std::set<std::string> held;
  for (const auto& row : tx.exec("SELECT id::text FROM aggregator_seen_ids")) {
    held.insert(row[0].as<std::string>());
  }
  CHECK(held.size() < counted_events_.size());
  // Every prune cut below min over partitions of max_event_ts - horizon - 1 h
  // (ts is stored as its hour), and max_event_ts only grows: an id at or
  // after the final min - horizon was never due.
  const auto floor_us = tx.exec1(
                              "SELECT (extract(epoch FROM min(max_event_ts)) * 1000000)::bigint "
                              "FROM aggregator_partitions")[0]
                            .as<std::int64_t>() -
                        max_lateness_us_;
  std::size_t due_to_stay = 0, missing = 0;
  for (const auto& e : counted_events_) {
    if (e.ts < floor_us) continue;
    ++due_to_stay;
    if (!held.contains(e.id)) ++missing;
  }
  std::size_t due_gone = 0, kept = 0;
  if (due_before_us_) {
    for (const auto& e : counted_events_) {
      if (e.ts >= *due_before_us_) continue;
      ++due_gone;
      if (held.contains(e.id)) ++kept;
    }
  }
  std::fprintf(stderr,
               "seen_ids holds %zu of %zu counted ids; %zu are inside the horizon, %zu of them "
               "missing; %zu were due to be pruned, %zu of them still held\n",
               held.size(), counted_events_.size(), due_to_stay, missing, due_gone, kept);
  CHECK(due_to_stay > 0);
  CHECK(missing == 0);
  if (due_before_us_) {
    // The scenario must make most counted ids due, or this proves little.
    CHECK(due_gone * 2 > counted_events_.size());
    CHECK(kept == 0);
  }
}

void AggregateScenario::produce() {
  produce_file(path_, 0, first_lines_);
}

void AggregateScenario::produce_recent(std::int64_t count) {
  // The newest on-time event time of every partition only grows from here,
  // and the aggregator prunes below min(max_event_ts) - horizon - 1 hour.
  std::optional<std::int64_t> floor;
  for (const auto& [partition, m] : max_ts_) {
    if (m && (!floor || *m < *floor)) floor = *m;
  }
  REQUIRE(floor);
  due_before_us_ = *floor - max_lateness_us_ - kHourUs;

  kinds::RecordGeneratorOptions recent;
  recent.seed = seed_ + 3;
  recent.time_spread_us = 0;
  auto generator = store_event_generator(recent);
  const std::size_t from = lines_.size();
  for (std::int64_t i = 0; i < count; ++i) {
    generator.set_base_ts(now_us_ - kHourUs + i * (kHourUs / 2) / count);
    lines_.push_back(generator.next().payload);
    fold(lines_.back());
  }
  produce_file(path_ + ".recent", from, lines_.size());
}

void AggregateScenario::produce_file(const std::string& path, std::size_t from, std::size_t to) {
  {
    std::ofstream out(path);
    for (std::size_t i = from; i < to; ++i) out << lines_[i] << '\n';
  }
  std::string out;
  const int rc = run(bin("millrace"), {"produce", "--file", path},
                     {{"MILLRACE_BROKERS", p_.env.brokers}, {"MILLRACE_TOPIC", p_.topic}}, &out);
  INFO("millrace produce printed: " << out);
  REQUIRE(rc == 0);
  REQUIRE(out.find("\"total\":" + std::to_string(to - from) + ",") != std::string::npos);
}

std::int64_t AggregateScenario::stored_total() {
  return p_.stored_total(group);
}

bool AggregateScenario::wait_caught_up(seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (stored_total() == end_total()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

Verdict AggregateScenario::verify() {
  Verdict v;
  pqxx::connection c(p_.env.pg);
  pqxx::work tx(c);
  const std::string s = tx.quote_name(p_.schema);
  tx.exec("SET search_path TO " + s);

  // The events that must count, loaded raw into a scratch table.
  tx.exec(
      "CREATE TEMP TABLE oracle_events (event_type text, ts timestamptz, category text, sku "
      "bigint, price numeric, qty integer, discount numeric, is_return boolean)");
  {
    pqxx::stream_to copy(tx, "oracle_events",
                         std::vector<std::string>{"event_type", "ts", "category", "sku", "price",
                                                  "qty", "discount", "is_return"});
    for (const auto& e : counted_events_) {
      copy << std::make_tuple(std::string(core::to_string(e.event_type)),
                              core::format_timestamp(e.ts), e.category, e.sku, e.price.to_string(),
                              e.qty, e.discount.to_string(), e.is_return);
    }
    copy.complete();
  }
  // Plain SQL from the raw events, with the documented definitions.
  tx.exec(
      "CREATE TEMP VIEW oracle_rows AS SELECT event_type, ts, category, sku, "
      "CASE WHEN is_return THEN -1 ELSE 1 END AS sign, qty, is_return, "
      "CASE WHEN event_type = 'sale_event' THEN price * qty * (1 - discount / 100) ELSE 0 END AS "
      "gross_revenue, "
      "CASE WHEN event_type = 'sale_event' THEN price * qty * discount / 100 ELSE 0 END AS "
      "gross_discount FROM oracle_events");
  const auto windowed = [&](const std::string& view, const std::string& unit) {
    const std::string expected =
        "SELECT date_trunc('" + unit +
        "', ts, 'UTC') AS window_start, event_type, "
        "count(*)::bigint AS events, sum(sign * qty)::bigint AS units, "
        "sum(sign * gross_revenue) AS revenue, sum(sign * gross_discount) AS discount_total, "
        "count(*) FILTER (WHERE is_return)::bigint AS returns FROM oracle_rows GROUP BY 1, 2";
    const auto mismatches =
        tx.exec1("SELECT count(*) FROM (" + expected + ") e FULL JOIN " + view +
                 " v USING (window_start, event_type) WHERE e.events IS DISTINCT FROM v.events OR "
                 "e.units IS DISTINCT FROM v.units OR e.revenue IS DISTINCT FROM v.revenue OR "
                 "e.discount_total IS DISTINCT FROM v.discount_total OR e.returns IS DISTINCT FROM "
                 "v.returns")[0]
            .as<std::int64_t>();
    const auto rows = tx.exec1("SELECT count(*) FROM " + view)[0].as<std::int64_t>();
    INFO(view);
    CHECK(mismatches == 0);
    // Four days of hours (or as many as the horizon keeps), five days.
    CHECK(rows > (unit == "hour" ? std::min<std::int64_t>(90, max_lateness_us_ / kHourUs) : 4));
  };
  windowed("hourly_sales", "hour");
  windowed("daily_sales", "day");

  const auto same = [&](const std::string& name, const std::string& expected,
                        const std::string& actual) {
    INFO(name);
    CHECK(tx.exec1("SELECT count(*) FROM ((" + expected + ") EXCEPT ALL (" + actual + ")) x")[0]
              .as<std::int64_t>() == 0);
    CHECK(tx.exec1("SELECT count(*) FROM ((" + actual + ") EXCEPT ALL (" + expected + ")) x")[0]
              .as<std::int64_t>() == 0);
  };
  same("top_products",
       "SELECT (row_number() OVER (ORDER BY units DESC, sku))::int AS rank, sku, units, revenue "
       "FROM (SELECT sku, sum(sign * qty)::bigint AS units, sum(sign * gross_revenue) AS revenue "
       "FROM oracle_rows WHERE event_type = 'sale_event' GROUP BY sku "
       "ORDER BY units DESC, sku LIMIT 10) t",
       "SELECT rank, sku, units, revenue FROM top_products");
  CHECK(tx.exec1("SELECT count(*) FROM top_products")[0].as<int>() == 10);
  same("popular_categories",
       "SELECT category, count(*)::bigint, sum(sign * qty)::bigint, sum(sign * gross_revenue) "
       "FROM oracle_rows WHERE event_type = 'sale_event' GROUP BY category",
       "SELECT category, events, units, revenue FROM popular_categories");
  same("orders_this_hour",
       "SELECT date_trunc('hour', now(), 'UTC'), (count(*) FILTER (WHERE NOT is_return))::bigint, "
       "coalesce(sum(sign * gross_revenue), 0) FROM oracle_rows WHERE event_type = 'sale_event' "
       "AND ts >= date_trunc('hour', now(), 'UTC') AND ts < date_trunc('hour', now(), 'UTC') + "
       "interval '1 hour'",
       "SELECT window_start, orders, revenue FROM orders_this_hour");
  same("today_summary",
       "SELECT date_trunc('day', now(), 'UTC'), (count(*) FILTER (WHERE NOT is_return))::bigint, "
       "coalesce(sum(sign * gross_revenue), 0), coalesce(sum(sign * qty), 0)::bigint, "
       "(count(*) FILTER (WHERE is_return))::bigint FROM oracle_rows WHERE event_type = "
       "'sale_event' AND ts >= date_trunc('day', now(), 'UTC') AND ts < date_trunc('day', now(), "
       "'UTC') + interval '1 day'",
       "SELECT day, orders, revenue, units, returns FROM today_summary");

  // Every record accounted for, by outcome.
  const auto outcome = [&](const std::string& o) {
    return tx
        .exec_params1(
            "SELECT coalesce(sum(records), 0)::bigint FROM record_outcomes WHERE "
            "group_id = $1 AND outcome = $2",
            group, o)[0]
        .as<std::uint64_t>();
  };
  // A late event whose id late_events holds already is a duplicate, so the
  // late outcome and late_events agree one for one.
  const std::uint64_t late_repeats = late - late_ids_.size();
  const auto persisted = outcome("persisted");
  CHECK(persisted == counted);
  v.produced = static_cast<std::uint64_t>(end_total());
  v.lost = counted > persisted ? counted - persisted : 0;
  v.duplicated = persisted > counted ? persisted - counted : 0;
  CHECK(outcome("duplicate") == duplicate_outcomes());
  CHECK(outcome("late") == late_outcomes());
  CHECK(tx.exec1("SELECT count(*) FROM late_events")[0].as<std::uint64_t>() == outcome("late"));
  CHECK(outcome("rejected") == invalid);
  const auto unaccounted = tx.exec_params1(
                                 "SELECT coalesce(sum(abs(unaccounted)), 0)::bigint FROM "
                                 "partition_accounting WHERE group_id = $1",
                                 group)[0]
                               .as<std::int64_t>();
  CHECK(unaccounted == 0);
  v.unaccounted = static_cast<std::uint64_t>(unaccounted);
  CHECK(tx.exec1("SELECT count(*) FROM late_events WHERE verdict = 'future'")[0]
            .as<std::uint64_t>() == future);
  // One row per id.
  CHECK(
      tx.exec1("SELECT count(*) FROM late_events WHERE verdict = 'late'")[0].as<std::uint64_t>() ==
      late_ids_.size());
  CHECK(late > 0);
  CHECK(late_repeats > 0);  // the scenario repeats late ids
  CHECK(duplicates > 0);
  CHECK(future == 100);
  return v;
}

}  // namespace millrace::testing
