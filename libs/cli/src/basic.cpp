// millrace produce, generate, migrate, create-topics and views: flags and
// output; what they do is in libs/produce, libs/kafka and libs/pg.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/pg/record_text.hpp"
#include "millrace/pg/views.hpp"
#include "millrace/produce/produce.hpp"

namespace millrace::cli {

int cmd_produce(const std::vector<std::string>& args, Context& ctx) {
  produce::ProduceConfig config;
  core::OptionSet options("millrace produce",
                          "Produces store events (or, with --kind, records of a declared kind: "
                          "orders) to Kafka, waits for every delivery report and prints a JSON "
                          "summary. Exits 1 if any delivery failed.");
  produce::register_options(options, config);
  if (const auto exit =
          parse_flags(ctx, options, args, "produce", [&] { produce::validate(config); })) {
    return *exit;
  }

  std::ifstream file;
  std::istream* input = nullptr;
  if (config.file == "-") {
    input = &ctx.in;
  } else if (!config.file.empty()) {
    file.open(config.file);
    if (!file) return usage_error(ctx, "produce", "cannot open --file " + config.file);
    input = &file;
  }
  // SIGINT stops generating; what was queued is still delivered and counted.
  const std::atomic<bool>& stop = ctx.backend.stop_on_signals();
  std::optional<produce::ProgressLine> line;
  produce::Progress last;
  if (produce::show_progress(config.progress)) line.emplace(stderr, /*acks=*/true);
  const auto summary =
      produce::run_produce(config, input, stop,
                           line ? produce::ProgressFn([&](const produce::Progress& p) {
                             last = p;
                             line->update(p);
                           })
                                : produce::ProgressFn());
  if (line) line->finish(last);
  ctx.out << summary.to_json() << "\n";
  return summary.failed_deliveries == 0 && summary.delivered == summary.total ? 0 : 1;
}

int cmd_generate(const std::vector<std::string>& args, Context& ctx) {
  produce::GenerateConfig config;
  core::OptionSet options("millrace generate",
                          "Writes synthetic records of a kind (store events by default) to "
                          "stdout, deterministic per seed.");
  produce::register_options(options, config);
  if (const auto exit =
          parse_flags(ctx, options, args, "generate", [&] { produce::validate(config); })) {
    return *exit;
  }
  if (&ctx.out == &std::cout) std::ios::sync_with_stdio(false);
  if (!config.catalog.empty()) return write_catalog(config.catalog, config.format, ctx.out);
  pg::CopyText row;
  const pg::RecordText text;
  std::optional<produce::ProgressLine> line;
  produce::Progress last;
  if (produce::show_progress(config.progress)) line.emplace(stderr, /*acks=*/false);
  produce::run_generate(
      config, ctx.out,
      [&](const kinds::Record& record, std::int64_t index) {
        row.clear();
        text.record(row, *config.declaration, record.values, "generated", 0, index);
        return std::string_view(row.end_row().data());
      },
      line ? produce::ProgressFn([&](const produce::Progress& p) {
        last = p;
        line->update(p);
      })
           : produce::ProgressFn());
  if (line) line->finish(last);
  ctx.out.flush();
  return ctx.out ? 0 : 1;
}

int cmd_migrate(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  std::string kinds_dir;
  core::OptionSet options("millrace migrate",
                          "Applies the schema migrations this build carries, and makes the tables "
                          "and views of every declared kind (built in, and in --kinds-dir).");
  pg::register_options(options, pg);
  kinds::register_kinds_dir(options, &kinds_dir);
  std::vector<kinds::Declaration> own;
  if (const auto exit = parse_flags(ctx, options, args, "migrate", [&] {
        pg::validate(pg);
        if (kinds_dir.empty()) return;
        for (auto& d : kinds::all_kinds(kinds_dir)) {
          const auto built = kinds::built_in_kinds();
          const bool built_in =
              std::any_of(built.begin(), built.end(),
                          [&](const kinds::BuiltIn& b) { return b.kind == d.kind; });
          // A built-in kind's tables are migrate()'s, but the views its
          // <kind>.views.json adds are the directory's.
          if (!built_in || d.views.size() != kinds::find_kind(d.kind, "").views.size()) {
            own.push_back(std::move(d));
          }
        }
      })) {
    return *exit;
  }
  // Only connection bounds: a migration may rewrite a large table. A lock
  // it waits for is given way to and asked for again, and logged with its
  // holder (pg::MigrateWaits).
  auto conn = pg::connect(pg.url, pg.schema, "millrace-migrate", pg.connect_limits(),
                          pg::SchemaSetup::kCreateIfMissing);
  const int applied = pg::migrate(*conn, pg.schema);
  ctx.out << format("schema %s: applied %d migration(s), %zu known\n", pg.schema.c_str(), applied,
                    pg::migrations().size());
  for (const auto& d : own) {
    pg::giving_way(*conn, pg.schema, "kind " + d.kind + "'s tables", {},
                   [&] { pg::ensure_kind_tables(*conn, d, pg::ViewChanges::kRebuild); });
    ctx.out << format("kind %s: tables made or current (%s%s%s)\n", d.kind.c_str(), d.table.c_str(),
                      d.lines ? (", " + d.lines->table).c_str() : "",
                      d.aggregate ? (", the " + d.aggregate->name + "_* views").c_str() : "");
  }
  return 0;
}

int cmd_create_topics(const std::vector<std::string>& args, Context& ctx) {
  auto kafka = kafka::client_options("millrace-create-topics", kinds::store_event().topic);
  std::string dlq_topic;
  std::string changes_topic = "millrace.changes";
  std::int64_t partitions = 4;
  std::int64_t replication = 1;
  std::int64_t timeout_s = 120;
  core::OptionSet options("millrace create-topics",
                          "Creates the store-events topic, its dead-letter topic, each declared "
                          "kind's topic and dead-letter topic (store-orders, ...) and the change "
                          "feed's topic (--changes-topic; empty: not that one) if missing, and "
                          "waits until each has a leader for every "
                          "partition. Fails if one exists with another partition count. Waits "
                          "for the broker to come up.");
  kafka::register_options(options, kafka, kinds::topic_setting(kinds::store_event()));
  kinds::KindOptions kinds;
  kinds::register_topic_options(options, kinds, ctx.env);
  core::declare(options, &dlq_topic, kinds::dlq_topic_setting(kinds::store_event()));
  kafka::add_topic_option(options, "changes-topic", &changes_topic, kafka::kChangesTopic);
  core::declare(options, &partitions,
                {.flag = "partitions",
                 .env = "MILLRACE_PARTITIONS",
                 .help = "Partitions of each topic: even, since even partitions carry inventory "
                         "events and odd ones sales",
                 .min = 2,
                 .max = 10'000});
  core::declare(options, &replication,
                {.flag = "replication-factor",
                 .env = "MILLRACE_REPLICATION_FACTOR",
                 .help = "Replicas of each partition; at most the number of brokers",
                 .min = 1,
                 .max = 32'767});
  core::declare(options, &timeout_s,
                {.flag = "timeout-s",
                 .help = "Give up after this long without a broker that creates the topics",
                 .min = 1,
                 .max = 86'400,
                 .unit = core::DurationUnit::kSeconds});
  if (const auto exit = parse_flags(ctx, options, args, "create-topics", [&] {
        kafka::validate(kafka);
        if (partitions % 2 != 0) {
          throw core::UsageError(
              "--partitions must be even (even partitions carry inventory "
              "events, odd ones sales), got " +
              std::to_string(partitions));
        }
      })) {
    return *exit;
  }
  if (dlq_topic.empty()) dlq_topic = kafka.topic + ".dlq";
  kafka.extra.try_emplace("client.id", kafka.client_id);  // a client.id property still wins
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  // Each topic with its partitions: a declared kind's come from its
  // declaration (records go to any partition by identity), the others'
  // from --partitions.
  std::vector<std::pair<std::string, std::int64_t>> topics = {{kafka.topic, partitions},
                                                              {dlq_topic, partitions}};
  for (const auto& [kind, topic] : kinds.topics) {
    const auto declared = kinds::find_kind(kind, kinds.kinds_dir).partitions;
    topics.emplace_back(topic, declared);
    topics.emplace_back(kinds::dlq_topic(kinds, kind, topic), declared);
  }
  if (!changes_topic.empty()) topics.emplace_back(changes_topic, partitions);
  for (const auto& [name, count] : topics) {
    kafka::ensure_topic(kafka.brokers, name, static_cast<std::int32_t>(count),
                        static_cast<std::int16_t>(replication), deadline, kafka.extra);
    ctx.out << format("topic %s: %lld partitions, replication factor %lld, ready\n", name.c_str(),
                      static_cast<long long>(count), static_cast<long long>(replication));
    ctx.out.flush();
  }
  return 0;
}

int cmd_views(const std::vector<std::string>& args, Context& ctx) {
  pg::PgOptions pg;
  std::string view_format = "table";
  std::string kinds_dir;
  core::OptionSet options("millrace views",
                          "Without NAME, lists the analytics views: the store events', and those "
                          "of every declared kind with an aggregate section (built in, and in "
                          "--kinds-dir); with NAME, prints that view.");
  pg::register_options(options, pg);
  kinds::register_kinds_dir(options, &kinds_dir);
  core::declare(options, &view_format,
                {.flag = "format", .help = "Output format: table, json or csv"});
  // The built-in kinds' views; those of --kinds-dir are listed once it is read.
  std::string views_help = "\nViews (and those of the kinds in --kinds-dir):\n";
  for (const auto& v : pg::public_views(kinds::all_kinds(""))) {
    views_help += "  " + v.name + std::string(v.name.size() < 24 ? 24 - v.name.size() : 1, ' ') +
                  " " + v.description + "\n";
  }
  std::vector<std::string> positional;
  std::optional<pg::Format> parsed_format;
  std::vector<pg::ViewInfo> views;
  if (const auto exit = parse_flags(
          ctx, options, args, "views",
          [&] {
            pg::validate(pg);
            if (positional.size() > 1) throw core::UsageError("give at most one view name");
            parsed_format = pg::parse_format(view_format);
            if (!parsed_format) {
              throw core::UsageError("--format: expected table, json or csv, got \"" + view_format +
                                     "\"");
            }
            views = pg::public_views(kinds::all_kinds(kinds_dir));
            if (!positional.empty() && pg::find_view(views, positional[0]) == nullptr) {
              throw core::UsageError("unknown view \"" + positional[0] +
                                     "\"; run 'millrace views' for the list");
            }
          },
          &positional, views_help)) {
    return *exit;
  }
  if (positional.empty()) {
    for (const auto& v : views) {
      ctx.out << format("%-24s %s\n", v.name.c_str(), v.description.c_str());
    }
    return 0;
  }
  auto conn = pg::connect(pg.url, pg.schema, "millrace-views", pg.limits);
  const auto& view = *pg::find_view(views, positional[0]);
  ctx.out << pg::render(pg::read_view(*conn, view), *parsed_format);
  if (view.grain == pg::ViewGrain::kDeclared) {
    if (const auto note = pg::view_fill_note(*conn, view.name))
      ctx.err << "note: " << *note << "\n";
  }
  return 0;
}

}  // namespace millrace::cli
