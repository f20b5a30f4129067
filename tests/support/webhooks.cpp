#include "webhooks.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "harness.hpp"
#include "http_client.hpp"
#include "millrace/webhooks/signature.hpp"
#include "scrape.hpp"

namespace millrace::testing {

void migrate_with_table(const Pipeline& p, const std::string& table) {
  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("CREATE TABLE " + tx.quote_name(p.schema) + "." + table);
  tx.commit();
}

Child start_webhooks(Pipeline& p, const ChangeFeedRig& rig, const std::string& name,
                     const std::string& schedule, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> e = {
      {"MILLRACE_CHANGES_TOPIC", rig.topic},       {"MILLRACE_WEBHOOKS_GROUP", p.group + "_hooks"},
      {"MILLRACE_WEBHOOKS_ALLOW_PRIVATE", "true"}, {"MILLRACE_WEBHOOKS_POLL_MS", "50"},
      {"MILLRACE_WEBHOOKS_TIMEOUT_MS", "5000"},
  };
  if (!schedule.empty()) e["MILLRACE_WEBHOOKS_RETRY_SCHEDULE"] = schedule;
  for (const auto& [k, v] : extra) e[k] = v;
  return p.start("millrace-webhooks", name, e);
}

std::int64_t sql_count(const Pipeline& p, const std::string& query) {
  return std::stoll(sql_text(p, query));
}

std::string sql_text(const Pipeline& p, const std::string& query) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("SET LOCAL search_path TO " + p.schema);
  return tx.exec1(query)[0].as<std::string>();
}

void insert_items(const Pipeline& p, int from, int to, const std::string& rest) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  for (int id = from; id < to; ++id) {
    tx.exec("INSERT INTO " + tx.quote_name(p.schema) + ".items VALUES (" + std::to_string(id) +
            ", " + rest + ")");
  }
  tx.commit();
}

std::string webhooks_cli(const Pipeline& p, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"webhooks"};
  all.insert(all.end(), args.begin(), args.end());
  std::string out;
  const int rc = run(bin("millrace"), all,
                     {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out);
  INFO("millrace webhooks " << args.front() << ": " << out);
  REQUIRE(rc == 0);
  return out;
}

std::int64_t add_endpoint(const Pipeline& p, const std::string& url, const std::string& secret,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> args = {"add", "--url", url, "--secret", secret, "--allow-private"};
  args.insert(args.end(), flags.begin(), flags.end());
  const auto out = webhooks_cli(p, args);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(R"(endpoint (\d+):)")));
  return std::stoll(m[1]);
}

namespace {

// The pipeline, once its schema is migrated and holds `items`.
Pipeline& with_items(Pipeline& p) {
  migrate_with_table(p, "items (id int PRIMARY KEY, name text, qty int)");
  return p;
}

}  // namespace

ItemsWebhooks::ItemsWebhooks(std::string_view prefix, std::int32_t partitions)
    : p(prefix), rig(with_items(p), {"items"}, partitions), feed(rig.start("changefeed")) {
  rig.wait_streaming();
}

std::string ItemsWebhooks::secure(const std::string& path) {
  auto secret = webhooks::new_secret();
  rx.set_secrets(path, {secret});
  return secret;
}

std::int64_t ItemsWebhooks::endpoint(const std::string& path,
                                     const std::vector<std::string>& flags) {
  return add_endpoint(p, rx.url(path), secure(path), flags);
}

Child ItemsWebhooks::start(const std::string& schedule,
                           const std::map<std::string, std::string>& extra,
                           const std::string& name) {
  return start_webhooks(p, rig, name, schedule, extra);
}

OrderReport order_report(const std::vector<std::string>& ids,
                         const std::vector<ChangeRecord>& expected) {
  std::map<std::string, std::string> key_of;
  for (const auto& r : expected) key_of[r.id] = r.key;
  std::set<std::string> seen;
  std::map<std::string, std::string> last_of_key;
  std::string last;  // the latest change accepted so far, any key
  OrderReport out;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) {
      ++out.repeats;
      continue;
    }
    const auto k = key_of.find(id);
    if (k == key_of.end()) {
      ++out.unknown;
      continue;
    }
    // Change ids sort in commit order (commit LSN, then position).
    auto& last_of = last_of_key[k->second];
    if (!last_of.empty() && id < last_of) ++out.out_of_key_order;
    last_of = id;
    if (!last.empty() && id < last) {
      if (out.out_of_commit_order++ == 0) out.first_inversion = id + " after " + last;
    }
    last = std::max(last, id);
  }
  for (const auto& r : expected) out.missing += seen.count(r.id) == 0 ? 1 : 0;
  return out;
}

std::size_t check_each_once_in_key_order(const std::vector<std::string>& ids,
                                         const std::vector<ChangeRecord>& expected) {
  const auto r = order_report(ids, expected);
  CHECK(r.missing == 0);
  CHECK(r.unknown == 0);
  CHECK(r.out_of_key_order == 0);
  return r.repeats;
}

double metric_of(const Child& service, const std::string& name,
                 const std::map<std::string, std::string>& match) {
  try {
    return sum_of(parse_exposition(http_get(service.metrics_port, "/metrics")), name, match);
  } catch (const std::exception&) {
    return -1.0;
  }
}

}  // namespace millrace::testing
