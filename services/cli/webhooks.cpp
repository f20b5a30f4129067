// millrace webhooks ...: registering endpoints and handling their
// deliveries, in PostgreSQL (millrace-webhooks does the sending).
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "commands.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/core/values.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/webhooks/admin.hpp"
#include "millrace/webhooks/schedule.hpp"

namespace millrace::cli {

namespace {

constexpr const char* kUsage =
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

struct Common {
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
    o.add_string("tables", "", &tables,
                 "Comma-separated tables (name or schema.name)" +
                     (update ? std::string(" (\"*\": every table)") : "; default every table"));
    o.add_string("ops", "", &ops,
                 "Comma-separated operations: c insert, u update, d delete, r snapshot or "
                 "backfill row, t truncate, e backfill end, g gap" +
                     (update ? std::string(" (\"*\": all)") : "; default all"));
    o.add_string("ordering", "", &ordering,
                 "commit: every change in the order PostgreSQL committed it, across keys; "
                 "key: commit order within each row's key only, and sooner");
    o.add_string("format", "", &format,
                 "standard (Standard Webhooks' JSON), cloudevents-structured "
                 "(application/cloudevents+json) or cloudevents-binary (ce-* headers); all "
                 "signed the Standard Webhooks way" +
                     std::string(update ? "" : "; default standard"));
    o.add_string("filter", "", &filter,
                 "An Azure Event Grid subscription's filter object (subjectBeginsWith, "
                 "includedEventTypes, advancedFilters on data.after.<column>, ...), as JSON or "
                 "a file holding it" +
                     std::string(update ? " (\"none\": no filter)" : ""));
    o.add_string("rate-limit", "", &rate_limit,
                 "Deliveries per second at most, across every worker and replica (0: no limit)");
    o.add_string("disable-after", "", &disable_after,
                 "Disable the endpoint once its deliveries have failed this long with none "
                 "delivered (e.g. 5d, 36h; 0: never)" +
                     std::string(update ? "" : "; default 5d"));
    o.add_string("description", "", &description, "A note for `webhooks list`");
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

// Flags every command takes, then its own; runs `body` on a connection.
int run(const std::string& name, const std::string& about, const std::vector<std::string>& args,
        bool needs_endpoint, const std::function<void(core::OptionSet&)>& own_flags,
        const std::function<int(pqxx::connection&, const Common&)>& body) {
  Common c;
  core::OptionSet options("millrace webhooks " + name, about);
  pg::register_options(options, c.pg);
  if (needs_endpoint)
    options.add_int("endpoint", "", &c.endpoint, "Endpoint id (webhooks list)", 1, INT64_MAX);
  own_flags(options);
  if (const auto exit = parse_flags(options, args, "webhooks " + name, [&] {
        pg::validate(c.pg);
        if (needs_endpoint && c.endpoint == 0) throw core::UsageError("--endpoint is required");
      })) {
    return *exit;
  }
  auto conn = pg::connect(c.pg.url, c.pg.schema, "millrace-webhooks-cli", c.pg.connect_limits());
  try {
    return body(*conn, c);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "millrace webhooks %s: %s\n", name.c_str(), e.what());
    return 1;
  }
}

int cmd_add(const std::vector<std::string>& args) {
  webhooks::NewEndpoint e;
  Settings settings;
  bool allow_private = false;
  bool backfill = false;
  std::string publication = "millrace_changes";
  std::string backfill_table = "changefeed_backfills";
  return run(
      "add",
      "Registers a webhook endpoint. Every change of the change feed that passes its filters is "
      "sent to it, signed with its secret (Standard Webhooks). Prints the id and the secret.",
      args, false,
      [&](core::OptionSet& o) {
        o.add_string("url", "", &e.url, "Where to POST (http:// or https://)");
        settings.flags(o, false);
        o.add_string("secret", "", &e.secret,
                     "Signing secret (whsec_ + base64); default a new random one");
        o.add_bool("allow-private", "MILLRACE_WEBHOOKS_ALLOW_PRIVATE", &allow_private,
                   "Allow a URL on a loopback or private address");
        o.add_bool("backfill", "", &backfill,
                   "Send it the current rows of its tables first: asks the change feed of "
                   "--publication for a backfill of each, for this endpoint only");
        o.add_string("publication", "MILLRACE_CHANGEFEED_PUBLICATION", &publication,
                     "With --backfill: the change feed's publication (its tables, when the "
                     "endpoint has no --tables)");
        o.add_string("backfill-table", "MILLRACE_CHANGEFEED_BACKFILL_TABLE", &backfill_table,
                     "With --backfill: the signal table of backfill requests, in --pg-schema");
      },
      [&](pqxx::connection& conn, const Common& common) {
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
        const auto added = webhooks::add_endpoint(conn, e, allow_private);
        // A generated secret is shown once, here; one the user gave is not
        // echoed.
        std::printf("endpoint %lld: %s\nsecret: %s\n", static_cast<long long>(added.id),
                    e.url.c_str(), e.secret.empty() ? added.secret.c_str() : "(as given)");
        if (backfill) {
          // Its records carry the endpoint as their audience: the other
          // endpoints skip them.
          const auto names =
              e.tables.empty() ? changefeed::published_table_names(conn, publication) : e.tables;
          for (const auto& table : names) {
            const auto id = changefeed::request_backfill(conn, common.pg.schema, backfill_table,
                                                         publication, table, "", 10000,
                                                         "webhooks:" + std::to_string(added.id));
            std::printf("backfill %lld: %s\n", static_cast<long long>(id), table.c_str());
          }
          // As `millrace changefeed backfill` does: asked anyway, and why
          // they would wait told where the user looks.
          const auto reason = changefeed::unserved_reason(
              changefeed::backfill_servers(conn, common.pg.schema, backfill_table, publication));
          if (!names.empty() && !reason.empty()) {
            std::fflush(stdout);
            std::fprintf(stderr, "millrace webhooks add: warning: its backfills wait: %s\n",
                         reason.c_str());
          }
        }
        return 0;
      });
}

int cmd_list(const std::vector<std::string>& args) {
  return run(
      "list", "Lists the webhook endpoints with their state and queues.", args, false,
      [](core::OptionSet&) {},
      [](pqxx::connection& conn, const Common&) {
        std::fputs(webhooks::list_endpoints(conn).c_str(), stdout);
        return 0;
      });
}

int cmd_update(const std::vector<std::string>& args) {
  Settings settings;
  std::string url;
  bool allow_private = false;
  return run(
      "update",
      "Changes an endpoint's settings: only the flags given. Its waiting deliveries go out in "
      "the new format and at the new rate; new tables, operations and filter apply to the "
      "changes read from then on.",
      args, true,
      [&](core::OptionSet& o) {
        o.add_string("url", "", &url, "Where to POST (http:// or https://)");
        settings.flags(o, true);
        o.add_bool("allow-private", "MILLRACE_WEBHOOKS_ALLOW_PRIVATE", &allow_private,
                   "Allow a URL on a loopback or private address");
      },
      [&](pqxx::connection& conn, const Common& c) {
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
        webhooks::update_endpoint(conn, c.endpoint, change, allow_private);
        std::printf("endpoint %lld updated\n", static_cast<long long>(c.endpoint));
        return 0;
      });
}

int cmd_set_active(const std::vector<std::string>& args, bool active) {
  std::string reason;
  const std::string name = active ? "enable" : "disable";
  return run(
      name,
      active ? "Enables an endpoint: its waiting deliveries go out first, in order."
             : "Disables an endpoint. Changes keep being enqueued for it and wait until it is "
               "enabled.",
      args, true,
      [&](core::OptionSet& o) {
        if (!active) o.add_string("reason", "", &reason, "Why, for `webhooks list`");
      },
      [&](pqxx::connection& conn, const Common& c) {
        webhooks::set_active(conn, c.endpoint, active, reason);
        std::printf("endpoint %lld %s\n", static_cast<long long>(c.endpoint),
                    active ? "enabled" : "disabled");
        return 0;
      });
}

int cmd_rotate(const std::vector<std::string>& args) {
  std::int64_t overlap_s = 86400;
  std::string secret;
  return run(
      "rotate-secret",
      "Gives an endpoint a new signing secret. Requests carry a signature with the new secret "
      "and, for --overlap-s, one with the old secret too, so the receiver can switch without "
      "rejecting a request.",
      args, true,
      [&](core::OptionSet& o) {
        o.add_int("overlap-s", "", &overlap_s, "Seconds the old secret still signs", 0,
                  30LL * 86400);
        o.add_string("secret", "", &secret, "The new secret; default a new random one");
      },
      [&](pqxx::connection& conn, const Common& c) {
        const auto fresh =
            webhooks::rotate_secret(conn, c.endpoint, std::chrono::seconds(overlap_s), secret);
        std::printf("endpoint %lld\nsecret: %s\n", static_cast<long long>(c.endpoint),
                    secret.empty() ? fresh.c_str() : "(as given)");
        return 0;
      });
}

int cmd_deliveries(const std::vector<std::string>& args) {
  std::int64_t endpoint = 0, limit = 50;
  bool failed = false;
  return run(
      "deliveries", "Lists deliveries, newest first.", args, false,
      [&](core::OptionSet& o) {
        o.add_int("endpoint", "", &endpoint, "Only this endpoint's (default all)", 0, INT64_MAX);
        o.add_bool("failed", "", &failed, "Only deliveries that used up their retries");
        o.add_int("limit", "", &limit, "At most this many", 1, 1'000'000);
      },
      [&](pqxx::connection& conn, const Common&) {
        std::fputs(webhooks::list_deliveries(
                       conn, endpoint > 0 ? std::optional(endpoint) : std::nullopt, failed, limit)
                       .c_str(),
                   stdout);
        return 0;
      });
}

int cmd_replay(const std::vector<std::string>& args) {
  std::string since;
  return run(
      "replay",
      "Puts an endpoint's failed deliveries back in its queue with a fresh retry schedule, "
      "oldest first.",
      args, true,
      [&](core::OptionSet& o) {
        o.add_string("since", "", &since,
                     "Only those enqueued at or after this time (e.g. 2026-11-23T08:00:00Z)");
      },
      [&](pqxx::connection& conn, const Common& c) {
        const auto n = webhooks::replay_failed(conn, c.endpoint,
                                               since.empty() ? std::nullopt : std::optional(since));
        std::printf("endpoint %lld: %lld failed deliveries queued again\n",
                    static_cast<long long>(c.endpoint), static_cast<long long>(n));
        return 0;
      });
}

}  // namespace

int cmd_webhooks(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::map<std::string, std::function<int()>> commands = {
      {"add", [&] { return cmd_add(rest); }},
      {"update", [&] { return cmd_update(rest); }},
      {"list", [&] { return cmd_list(rest); }},
      {"disable", [&] { return cmd_set_active(rest, false); }},
      {"enable", [&] { return cmd_set_active(rest, true); }},
      {"rotate-secret", [&] { return cmd_rotate(rest); }},
      {"deliveries", [&] { return cmd_deliveries(rest); }},
      {"replay", [&] { return cmd_replay(rest); }},
  };
  const auto it = commands.find(args[0]);
  if (it == commands.end()) return usage_error("webhooks", "unknown command \"" + args[0] + "\"");
  return it->second();
}

}  // namespace millrace::cli
