#include "pg_stream.hpp"

#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/slow_wait.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;

namespace {

std::string quoted(const std::string& name) {
  return "\"" + name + "\"";  // names are checked to be [a-z0-9_] (config.cpp)
}

std::string literal(const std::string& text) {
  return "'" + text + "'";  // the same names, as SQL strings
}

// A slot's creation: asked whether to go on this often (a stop cancels it),
// and told first after this long, then this often.
constexpr milliseconds kSlotWaitTick{200};
constexpr milliseconds kSlotWaitFirstTold{5000};
constexpr milliseconds kSlotWaitToldEvery{60000};

}  // namespace

std::string feed_application_name(const std::string& publication) {
  return ("millrace-changefeed/" + publication).substr(0, 63);
}

PgStream::PgStream(const ChangefeedConfig& config, SlotWait slot_wait)
    : config_(config),
      conn_(config.pg.url, feed_application_name(config.publication), config.pg.connect_limits()),
      slot_wait_(std::move(slot_wait)) {
  const auto system = conn_.command("IDENTIFY_SYSTEM");
  if (system.size() != 1 || system[0].size() < 3 || !system[0][2]) {
    throw InfraError(FailureClass::kFatal, "IDENTIFY_SYSTEM answered an unexpected shape");
  }
  const auto position = parse_lsn(*system[0][2]);
  if (!position)
    throw InfraError(FailureClass::kFatal, "IDENTIFY_SYSTEM: bad xlogpos " + *system[0][2]);
  server_position_ = *position;
  const auto version = conn_.command("SHOW server_version_num");
  if (version.size() == 1 && !version[0].empty() && version[0][0]) {
    server_version_ = std::stoi(*version[0][0]);
  }

  const auto pub = conn_.command("SELECT count(*) FROM pg_publication WHERE pubname = " +
                                 literal(config.publication));
  if (pub.at(0).at(0) != std::optional<std::string>("1")) {
    throw InfraError(FailureClass::kFatal,
                     "publication " + config.publication +
                         " does not exist in this database; create it as the tables' owner "
                         "with `millrace changefeed publish --publication " +
                         config.publication + "`");
  }
  const auto slot = conn_.command(
      "SELECT plugin, database = current_database(), wal_status FROM pg_replication_slots WHERE "
      "slot_name = " +
      literal(config.slot));
  slot_exists_ = !slot.empty();
  slot_lost_ = slot_exists_ && slot[0][2] == std::optional<std::string>("lost");
  if (slot_exists_ && (slot[0][0] != std::optional<std::string>("pgoutput") ||
                       slot[0][1] != std::optional<std::string>("t"))) {
    throw InfraError(FailureClass::kFatal,
                     "replication slot " + config.slot +
                         " exists for another plugin or database; choose another --slot");
  }
}

Lsn PgStream::create_slot() {
  runtime::SlowWait told(kSlotWaitFirstTold, kSlotWaitToldEvery);
  const auto created = conn_.command(
      "CREATE_REPLICATION_SLOT " + quoted(config_.slot) + " LOGICAL pgoutput", kSlotWaitTick,
      [&](milliseconds waited) {
        std::string why;
        if (const auto s = told.due(waited)) {
          why = "creating replication slot " + config_.slot + " has waited " +
                std::to_string(s->count()) +
                " s: PostgreSQL starts a logical slot only where no transaction is open, and "
                "waits for " +
                slot_blockers();
        }
        if (slot_wait_) slot_wait_(why);
      });
  std::optional<Lsn> point;
  if (created.size() == 1 && created[0].size() >= 2 && created[0][1]) {
    point = parse_lsn(*created[0][1]);
  }
  if (!point) {
    throw InfraError(FailureClass::kFatal, "CREATE_REPLICATION_SLOT answered no consistent point");
  }
  slot_exists_ = true;
  slot_lost_ = false;
  runtime::log_info("changefeed",
                    "created replication slot " + config_.slot + " at " + format_lsn(*point));
  return *point;
}

Lsn PgStream::slot_confirmed() {
  const auto r =
      conn_.command("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = " +
                    literal(config_.slot));
  std::optional<Lsn> at;
  if (r.size() == 1 && r[0][0]) at = parse_lsn(*r[0][0]);
  if (!at) {
    throw InfraError(FailureClass::kRetryable,
                     "replication slot " + config_.slot + " has no confirmed position");
  }
  return *at;
}

void PgStream::drop_slot() {
  conn_.command("DROP_REPLICATION_SLOT " + quoted(config_.slot));
  slot_exists_ = false;
  slot_lost_ = false;
}

void PgStream::start() {
  conn_.start("START_REPLICATION SLOT " + quoted(config_.slot) +
              " LOGICAL 0/0 (proto_version '1', publication_names " +
              literal(quoted(config_.publication)) + (messages() ? ", messages 'true'" : "") + ")");
}

std::optional<std::string_view> PgStream::read(std::chrono::milliseconds timeout) {
  return conn_.read(timeout);
}

void PgStream::write(std::string_view copy_data) {
  conn_.write(copy_data);
}

pqxx::connection& PgStream::catalog() {
  if (!catalog_) {
    catalog_ = std::make_unique<pqxx::connection>(
        pg::bounded_conninfo(config_.pg.url, config_.pg.connect_limits()));
  }
  return *catalog_;
}

std::string PgStream::slot_blockers() {
  try {
    // The slot's creation waits on each open transaction's lock in turn
    // (pg_blocking_pids names the one now); what a role may not see of
    // another's session (its transaction's start) is NULL.
    pqxx::nontransaction tx(catalog());
    const auto rows = tx.exec(
        "SELECT pid, datname, usename, application_name, to_char(xact_start AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_stat_activity WHERE pid = "
        "ANY(pg_blocking_pids(" +
        std::to_string(conn_.backend_pid()) + ")) ORDER BY xact_start NULLS LAST");
    std::string out;
    for (const auto& row : rows) {
      out += out.empty() ? "" : "; ";
      out += "pid " + row[0].as<std::string>() + " (database " + row[1].c_str() + ", user " +
             row[2].c_str() + ", application '" + row[3].c_str() + "'" +
             (row[4].is_null() ? "" : std::string(", open since ") + row[4].c_str()) + ")";
    }
    if (out.empty()) return "the transactions open when it began to end (none holds it now)";
    return "the transaction of " + out + " to end";
  } catch (const std::exception& e) {
    catalog_.reset();
    return std::string("the transactions open when it began to end (which: ") + e.what() + ")";
  }
}

std::vector<std::string> PgStream::primary_key(const Relation& relation) {
  try {
    pqxx::nontransaction tx(catalog());
    const auto rows = tx.exec(
        "SELECT a.attname FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, "
        "ord), pg_attribute a WHERE i.indrelid = " +
        std::to_string(relation.oid) +
        " AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord");
    std::vector<std::string> out;
    for (const auto& row : rows) out.push_back(row[0].as<std::string>());
    return out;
  } catch (const std::exception&) {
    catalog_.reset();
    pg::rethrow_classified("primary key of " + relation.schema + "." + relation.name);
  }
}

}  // namespace millrace::changefeed
