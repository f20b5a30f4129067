// millrace webhooks ...: registering endpoints and handling their
// deliveries, in PostgreSQL (millrace-webhooks does the sending).
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>

#include "common.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/changefeed/service.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/core/values.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/webhooks/admin.hpp"
#include "millrace/webhooks/config.hpp"
#include "millrace/webhooks/schedule.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kWebhooksUsage =
    "usage: millrace webhooks <command> [flags]\n"
    "\n"
    "commands:\n"
    "  add            register an endpoint: --url, optional --tables, --ops, --ordering,\n"
    "                 --format, --filter (an Event Grid filter), --rate-limit,\n"
    "                 --disable-after, --description, --backfill (the tables' current\n"
    "                 rows first); prints its id and signing secret\n"
    "  update         change --endpoint ID's settings: the flags of add that are given\n"
    "  list           the endpoints, their state and queues\n"
    "  disable        stop sending to --endpoint ID (its deliveries wait)\n"
    "  enable         send to --endpoint ID again, its waiting deliveries first\n"
    "  rotate-secret  give --endpoint ID a new secret; the old one stays valid for --overlap-s\n"
    "  deliveries     recent deliveries (--failed: only those that used up their retries)\n"
    "  replay         send --endpoint ID's failed deliveries again (--since TIME)\n";

struct WebhooksCommon {
  pg::PgOptions pg;
  std::int64_t endpoint = 0;
};

// --filter's value: JSON (it starts with "{"), or the file holding it.
std::string filter_text(const std::string& value) {
  const auto start = value.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  if (value[start] == '{') return value;
  std::ifstream in(value);
  if (!in) {
    throw std::invalid_argument("--filter: \"" + value +
                                "\" is neither JSON (an Event Grid filter object) nor a "
                                "readable file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --disable-after's value in seconds: "5d", "36h", ..., or 0 (never).
std::int64_t disable_after_s(const std::string& value) {
  if (value == "0" || value == "never") return 0;
  try {
    return std::chrono::duration_cast<std::chrono::seconds>(core::parse_duration(value)).count();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--disable-after: ") + e.what());
  }
}

// The settings `add` and `update` share, as their flags give them (empty:
// not given).
struct Settings {
  std::string tables, ops, ordering, format, filter, rate_limit, disable_after, description;

  void flags(core::OptionSet& o, bool update) {
    core::declare(
        o, &tables,
        {.flag = "tables",
         .help = "Comma-separated tables (name or schema.name)" +
                 (update ? std::string(" (\"*\": every table)") : "; default every table")});
    core::declare(
        o, &ops,
        {.flag = "ops",
         .help = "Comma-separated operations: c insert, u update, d delete, r snapshot or "
                 "backfill row, t truncate, e backfill end, g gap" +
                 (update ? std::string(" (\"*\": all)") : "; default all")});
    core::declare(
        o, &ordering,
        {.flag = "ordering",
         .help = "commit: every change in the order PostgreSQL committed it, across keys; "
                 "key: commit order within each row's key only, and sooner"});
    core::declare(
        o, &format,
        {.flag = "format",
         .help = "standard (Standard Webhooks' JSON), cloudevents-structured "
                 "(application/cloudevents+json) or cloudevents-binary (ce-* headers); all "
                 "signed the Standard Webhooks way" +
                 std::string(update ? "" : "; default standard")});
    core::declare(
        o, &filter,
        {.flag = "filter",
         .help = "An Azure Event Grid subscription's filter object (subjectBeginsWith, "
                 "includedEventTypes, advancedFilters on data.after.<column>, ...), as JSON or "
                 "a file holding it" +
                 std::string(update ? " (\"none\": no filter)" : "")});
    core::declare(
        o, &rate_limit,
        {.flag = "rate-limit",
         .help = "Deliveries per second at most, across every worker and replica (0: no limit)"});
    core::declare(
        o, &disable_after,
        {.flag = "disable-after",
         .help = "Disable the endpoint once its deliveries have failed this long with none "
                 "delivered (e.g. 5d, 36h; 0: never)" +
                 std::string(update ? "" : "; default 5d")});
    core::declare(o, &description, {.flag = "description", .help = "A note for `webhooks list`"});
  }

  static double rate(const std::string& value) {
    try {
      std::size_t used = 0;
      const double r = std::stod(value, &used);
      if (used == value.size()) return r;
    } catch (const std::exception&) {
    }
    throw std::invalid_argument("--rate-limit: \"" + value +
                                "\" is not a number of deliveries per second");
  }
};

// Flags every command takes, then its own; runs `body` on the database.
int run_webhooks(Context& ctx, const std::string& name, const std::string& about,
                 const std::vector<std::string>& args, bool needs_endpoint,
                 const std::function<void(core::OptionSet&)>& own_flags,
                 const std::function<int(WebhooksDb&, const WebhooksCommon&)>& body) {
  WebhooksCommon c;
  core::OptionSet options("millrace webhooks " + name, about);
  pg::register_options(options, c.pg);
  if (needs_endpoint)
    core::declare(
        options, &c.endpoint,
        {.flag = "endpoint", .help = "Endpoint id (webhooks list)", .min = 1, .max = INT64_MAX});
  own_flags(options);
  if (const auto exit = parse_flags(ctx, options, args, "webhooks " + name, [&] {
        pg::validate(c.pg);
        if (needs_endpoint && c.endpoint == 0) throw core::UsageError("--endpoint is required");
      })) {
    return *exit;
  }
  auto db = ctx.backend.webhooks_db(c.pg);
  try {
    return body(*db, c);
  } catch (const std::invalid_argument& e) {
    ctx.out.flush();
    ctx.err << "millrace webhooks " << name << ": " << e.what() << "\n";
    return 1;
  }
}

int webhooks_add(const std::vector<std::string>& args, Context& ctx) {
  webhooks::NewEndpoint e;
  Settings settings;
  bool allow_private = false;
  bool backfill = false;
  std::string publication = "millrace_changes";
  std::string backfill_table = "changefeed_backfills";
  return run_webhooks(
      ctx, "add",
      "Registers a webhook endpoint. Every change of the change feed that passes its filters is "
      "sent to it, signed with its secret (Standard Webhooks). Prints the id and the secret.",
      args, false,
      [&](core::OptionSet& o) {
        core::declare(o, &e.url, {.flag = "url", .help = "Where to POST (http:// or https://)"});
        settings.flags(o, false);
        core::declare(o, &e.secret,
                      {.flag = "secret",
                       .help = "Signing secret (whsec_ + base64); default a new random one"});
        webhooks::add_allow_private(o, &allow_private);
        core::declare(
            o, &backfill,
            {.flag = "backfill",
             .help = "Send it the current rows of its tables first: asks the change feed of "
                     "--publication for a backfill of each, for this endpoint only"});
        changefeed::add_feed_names(o, nullptr, &publication, &backfill_table);
      },
      [&](WebhooksDb& db, const WebhooksCommon& common) {
        if (e.url.empty()) throw std::invalid_argument("--url is required");
        e.tables = split_list(settings.tables);
        e.ops = split_list(settings.ops);
        if (!settings.ordering.empty()) e.ordering = settings.ordering;
        if (!settings.format.empty()) e.format = settings.format;
        e.filter = filter_text(settings.filter);
        if (!settings.rate_limit.empty()) e.rate_limit = Settings::rate(settings.rate_limit);
        if (!settings.disable_after.empty()) {
          e.disable_after_s = disable_after_s(settings.disable_after);
        }
        e.description = settings.description;
        const auto added = db.add_endpoint(e, allow_private);
        // A generated secret is shown once, here; one the user gave is not
        // echoed.
        ctx.out << "endpoint " << added.id << ": " << e.url
                << "\nsecret: " << (e.secret.empty() ? added.secret : std::string("(as given)"))
                << "\n";
        if (backfill) {
          // Its records carry the endpoint as their audience: the other
          // endpoints skip them.
          auto& feed = db.changefeed();
          const auto names = e.tables.empty() ? feed.published_table_names(publication) : e.tables;
          for (const auto& table : names) {
            const auto id =
                feed.request_backfill(common.pg.schema, backfill_table, publication, table, "",
                                      10000, "webhooks:" + std::to_string(added.id));
            ctx.out << "backfill " << id << ": " << table << "\n";
          }
          // As `millrace changefeed backfill` does: asked anyway, and why
          // they would wait told where the user looks.
          const auto reason = changefeed::unserved_reason(
              feed.backfill_servers(common.pg.schema, backfill_table, publication));
          if (!names.empty() && !reason.empty()) {
            ctx.out.flush();
            ctx.err << "millrace webhooks add: warning: its backfills wait: " << reason << "\n";
          }
        }
        return 0;
      });
}

int webhooks_list(const std::vector<std::string>& args, Context& ctx) {
  return run_webhooks(
      ctx, "list", "Lists the webhook endpoints with their state and queues.", args, false,
      [](core::OptionSet&) {},
      [&](WebhooksDb& db, const WebhooksCommon&) {
        ctx.out << db.list_endpoints();
        return 0;
      });
}

int webhooks_update(const std::vector<std::string>& args, Context& ctx) {
  Settings settings;
  std::string url;
  bool allow_private = false;
  return run_webhooks(
      ctx, "update",
      "Changes an endpoint's settings: only the flags given. Its waiting deliveries go out in "
      "the new format and at the new rate; new tables, operations and filter apply to the "
      "changes read from then on.",
      args, true,
      [&](core::OptionSet& o) {
        core::declare(o, &url, {.flag = "url", .help = "Where to POST (http:// or https://)"});
        settings.flags(o, true);
        webhooks::add_allow_private(o, &allow_private);
      },
      [&](WebhooksDb& db, const WebhooksCommon& c) {
        webhooks::EndpointChange change;
        const auto list = [](const std::string& v) {
          return v == "*" ? std::vector<std::string>{} : split_list(v);
        };
        if (!url.empty()) change.url = url;
        if (!settings.tables.empty()) change.tables = list(settings.tables);
        if (!settings.ops.empty()) change.ops = list(settings.ops);
        if (!settings.ordering.empty()) change.ordering = settings.ordering;
        if (!settings.format.empty()) change.format = settings.format;
        if (!settings.filter.empty()) {
          change.filter = settings.filter == "none" ? "" : filter_text(settings.filter);
        }
        if (!settings.rate_limit.empty()) change.rate_limit = Settings::rate(settings.rate_limit);
        if (!settings.disable_after.empty()) {
          change.disable_after_s = disable_after_s(settings.disable_after);
        }
        if (!settings.description.empty()) change.description = settings.description;
        db.update_endpoint(c.endpoint, change, allow_private);
        ctx.out << "endpoint " << c.endpoint << " updated\n";
        return 0;
      });
}

int webhooks_set_active(const std::vector<std::string>& args, Context& ctx, bool active) {
  std::string reason;
  return run_webhooks(
      ctx, active ? "enable" : "disable",
      active ? "Enables an endpoint: its waiting deliveries go out first, in order."
             : "Disables an endpoint. Changes keep being enqueued for it and wait until it is "
               "enabled.",
      args, true,
      [&](core::OptionSet& o) {
        if (!active)
          core::declare(o, &reason, {.flag = "reason", .help = "Why, for `webhooks list`"});
      },
      [&](WebhooksDb& db, const WebhooksCommon& c) {
        db.set_active(c.endpoint, active, reason);
        ctx.out << "endpoint " << c.endpoint << (active ? " enabled" : " disabled") << "\n";
        return 0;
      });
}

int webhooks_rotate(const std::vector<std::string>& args, Context& ctx) {
  std::int64_t overlap_s = 86400;
  std::string secret;
  return run_webhooks(
      ctx, "rotate-secret",
      "Gives an endpoint a new signing secret. Requests carry a signature with the new secret "
      "and, for --overlap-s, one with the old secret too, so the receiver can switch without "
      "rejecting a request.",
      args, true,
      [&](core::OptionSet& o) {
        core::declare(o, &overlap_s,
                      {.flag = "overlap-s",
                       .help = "Seconds the old secret still signs",
                       .min = 0,
                       .max = 30LL * 86400,
                       .unit = core::DurationUnit::kSeconds});
        core::declare(o, &secret,
                      {.flag = "secret", .help = "The new secret; default a new random one"});
      },
      [&](WebhooksDb& db, const WebhooksCommon& c) {
        const auto fresh = db.rotate_secret(c.endpoint, std::chrono::seconds(overlap_s), secret);
        ctx.out << "endpoint " << c.endpoint
                << "\nsecret: " << (secret.empty() ? fresh : std::string("(as given)")) << "\n";
        return 0;
      });
}

int webhooks_deliveries(const std::vector<std::string>& args, Context& ctx) {
  std::int64_t endpoint = 0, limit = 50;
  bool failed = false;
  return run_webhooks(
      ctx, "deliveries", "Lists deliveries, newest first.", args, false,
      [&](core::OptionSet& o) {
        core::declare(o, &endpoint,
                      {.flag = "endpoint",
                       .help = "Only this endpoint's (default all)",
                       .min = 0,
                       .max = INT64_MAX});
        core::declare(o, &failed,
                      {.flag = "failed", .help = "Only deliveries that used up their retries"});
        core::declare(o, &limit,
                      {.flag = "limit", .help = "At most this many", .min = 1, .max = 1'000'000});
      },
      [&](WebhooksDb& db, const WebhooksCommon&) {
        ctx.out << db.list_deliveries(endpoint > 0 ? std::optional(endpoint) : std::nullopt, failed,
                                      limit);
        return 0;
      });
}

int webhooks_replay(const std::vector<std::string>& args, Context& ctx) {
  std::string since;
  return run_webhooks(
      ctx, "replay",
      "Puts an endpoint's failed deliveries back in its queue with a fresh retry schedule, "
      "oldest first.",
      args, true,
      [&](core::OptionSet& o) {
        core::declare(
            o, &since,
            {.flag = "since",
             .help = "Only those enqueued at or after this time (e.g. 2026-11-23T08:00:00Z)"});
      },
      [&](WebhooksDb& db, const WebhooksCommon& c) {
        const auto n =
            db.replay_failed(c.endpoint, since.empty() ? std::nullopt : std::optional(since));
        ctx.out << "endpoint " << c.endpoint << ": " << n << " failed deliveries queued again\n";
        return 0;
      });
}

}  // namespace

int cmd_webhooks(const std::vector<std::string>& args, Context& ctx) {
  return dispatch(
      ctx, "webhooks", kWebhooksUsage,
      {
          {"add", webhooks_add},
          {"update", webhooks_update},
          {"list", webhooks_list},
          {"disable", [](const auto& a, Context& c) { return webhooks_set_active(a, c, false); }},
          {"enable", [](const auto& a, Context& c) { return webhooks_set_active(a, c, true); }},
          {"rotate-secret", webhooks_rotate},
          {"deliveries", webhooks_deliveries},
          {"replay", webhooks_replay},
      },
      args);
}

}  // namespace millrace::cli
