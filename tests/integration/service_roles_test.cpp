// Every consumer service started as README's local stack section starts it:
// `eval "$(deploy/local/stack env)"`, which gives each its own role
// (MILLRACE_SINK_PG, ...: LOGIN, and what `millrace grant` gives), with
// MILLRACE_MIGRATE left at its default. Against a migrated schema each must
// start without DDL (the roles may run none); against one not migrated yet
// each must wait, alive, with /readyz naming `schema`, and start once the
// owner has run `millrace migrate` (issue 61: they used to die on
// "permission denied for schema").
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "harness.hpp"
#include "millrace/kafka/admin.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using std::chrono::seconds;

namespace {

const std::vector<std::string> kServices = {"sink", "aggregator", "archiver", "webhooks"};

// The role a postgresql://role:password@host URL logs in as.
std::string role_of(const std::string& url) {
  const auto from = url.find("://") + 3;
  return url.substr(from, url.find(':', from) - from);
}

// MILLRACE_SINK_PG for "sink": the variable `stack env` sets to its role.
std::string pg_variable(const std::string& service) {
  std::string key = "MILLRACE_" + service + "_PG";
  for (auto& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return key;
}

std::string service_pg(const Pipeline& p, const std::string& service) {
  const auto at = p.env.service_pg.find(pg_variable(service));
  REQUIRE(at != p.env.service_pg.end());
  return at->second;
}

std::string group_of(const Pipeline& p, const std::string& service) {
  return service == "sink" ? p.group : p.group + "_" + service;
}

// The four services, each with its own role's URL beside the owner's
// MILLRACE_PG (both are in `stack env`; the service's own one wins).
std::map<std::string, Child> start_services(Pipeline& p) {
  std::map<std::string, Child> out;
  for (const auto& s : kServices) {
    std::map<std::string, std::string> env = {
        {pg_variable(s), service_pg(p, s)},
        {"MILLRACE_AGGREGATOR_GROUP", group_of(p, "aggregator")},
        {"MILLRACE_ARCHIVER_GROUP", group_of(p, "archiver")},
        {"MILLRACE_WEBHOOKS_GROUP", group_of(p, "webhooks")},
        {"MILLRACE_ARCHIVE_ROOT", p.log_dir + "/" + p.topic + ".archive"},
        {"MILLRACE_ARCHIVE_WINDOW_S", "1"},
        {"MILLRACE_CHANGES_TOPIC", p.topic + ".changes"},
    };
    out.emplace(s, p.start("millrace-" + s, s, env));
  }
  return out;
}

void owner(const Pipeline& p, const std::vector<std::string>& args) {
  std::string out;
  const int rc = run(bin("millrace"), args,
                     {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out);
  INFO("millrace " << args.front() << " as the owner: " << out);
  REQUIRE(rc == 0);
}

// `millrace grant` as the owner: each service's privileges to its role.
void grant(const Pipeline& p) {
  std::vector<std::string> args = {"grant"};
  for (const auto& s : kServices) {
    args.push_back("--" + s);
    args.push_back(role_of(service_pg(p, s)));
  }
  owner(p, args);
}

// Whether `child`'s /readyz comes to answer `status` with each of `words`
// in its body; false at once when the child exits (a service that died on
// its schema, as they did, answers nothing more).
bool readyz_says(Child& child, int status, const std::vector<std::string>& words) {
  HttpAnswer last;
  bool exited = false;
  const bool ok = eventually(
      [&] {
        if (!child.running()) return exited = true;
        last = http_answer(child.metrics_port, "/readyz");
        if (last.status != status) return false;
        for (const auto& w : words) {
          if (last.body.find(w) == std::string::npos) return false;
        }
        return true;
      },
      seconds(90));
  INFO("last /readyz: " << last.status << " " << last.body);
  CHECK_FALSE(exited);
  CHECK(ok);
  return ok && !exited;
}

std::int64_t owner_count(const Pipeline& p, const std::string& sql, const std::string& arg) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  return tx.exec_params1(sql, arg)[0].as<std::int64_t>();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Whether `pred` comes to hold while every service runs: false at once when
// one exits (ready first, a service could still die on its schema after).
template <typename Pred>
bool while_running(std::map<std::string, Child>& services, Pred pred) {
  bool exited = false;
  const bool ok = eventually(
      [&] {
        for (auto& [name, child] : services) {
          if (!child.running()) {
            UNSCOPED_INFO("millrace-" << name << " exited");
            return exited = true;
          }
        }
        return pred();
      },
      seconds(180));
  return ok && !exited;
}

// Ready, and each at its work with its own role: the sink stores every kept
// event, the aggregator and the archiver consume all the topic, the webhooks
// consumer claims its partitions of the change topic.
void check_working(Pipeline& p, std::map<std::string, Child>& services, std::uint64_t seed) {
  for (auto& [name, child] : services) {
    INFO(name);
    REQUIRE(readyz_says(child, 200, {R"({"status":"ready","problems":[]})"}));
  }
  p.produce(1'000, seed, 0.05);
  REQUIRE(while_running(services, [&] { return p.stored_total() == p.end_total(); }));
  p.verify();
  for (const char* s : {"aggregator", "archiver"}) {
    INFO(s);
    CHECK(while_running(services, [&] { return p.stored_total(group_of(p, s)) == p.end_total(); }));
  }
  CHECK(while_running(services, [&] {
    return owner_count(p,
                       "SELECT count(*) FROM " + p.schema + ".consumer_offsets WHERE group_id = $1",
                       group_of(p, "webhooks")) == 1;
  }));
  std::vector<Child*> all;
  for (auto& [name, child] : services) all.push_back(&child);
  CHECK(stop_cleanly(all));
  for (const auto& s : kServices) {
    INFO(s);
    const auto log = read_file(p.log_dir + "/" + p.topic + "." + s + ".log");
    CHECK(log.find("permission denied") == std::string::npos);
    CHECK(log.find("stopping on fatal error") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("each consumer service with its own role starts on a migrated schema without DDL",
          "[service-roles]") {
  Pipeline p("it_roles");
  millrace::kafka::create_topic(p.env.brokers, p.topic + ".changes", 1, 1, seconds(30));
  owner(p, {"migrate"});
  grant(p);
  auto services = start_services(p);
  check_working(p, services, 6101);
}

TEST_CASE("each consumer service with its own role waits for the owner's migrate, then works",
          "[service-roles-unmigrated]") {
  Pipeline p("it_roles_wait");
  millrace::kafka::create_topic(p.env.brokers, p.topic + ".changes", 1, 1, seconds(30));
  auto services = start_services(p);
  for (auto& [name, child] : services) {
    INFO(name);
    REQUIRE(readyz_says(child, 503,
                        {R"("check":"schema")", "schema " + p.schema + " has 0 of the",
                         "run `millrace migrate` as the schema's owner"}));
  }
  owner(p, {"migrate"});
  grant(p);
  check_working(p, services, 6102);
  // Said once, not at every look at the schema.
  const auto sink_log = read_file(p.log_dir + "/" + p.topic + ".sink.log");
  CHECK(count_of(sink_log, "this role may not apply migrations") == 1);
}
