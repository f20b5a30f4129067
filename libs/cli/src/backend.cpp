// The real backend: the ports over a PostgreSQL connection, the download,
// the object store, the replay and the signals.
#include <atomic>
#include <csignal>
#include <memory>

#include "millrace/archive/index.hpp"
#include "millrace/archive/replay.hpp"
#include "millrace/catalog/fetch.hpp"
#include "millrace/catalog/store.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/cli/cli.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/runtime/signals.hpp"
#include "millrace/webhooks/admin.hpp"

namespace millrace::cli {

namespace {

std::unique_ptr<pqxx::connection> connect(const pg::PgOptions& pg, const std::string& application) {
  return pg::connect(pg.url, pg.schema, application, pg.connect_limits());
}

class PgCatalogUpsert final : public CatalogUpsert {
 public:
  PgCatalogUpsert(pqxx::connection& conn, catalog::Table table) : upsert_(conn, table) {}
  void add(const catalog::Record& record) override { upsert_.add(record); }
  catalog::UpsertCounts commit() override { return upsert_.commit(); }

 private:
  catalog::Upsert upsert_;
};

class PgCatalogDb final : public CatalogDb {
 public:
  explicit PgCatalogDb(const pg::PgOptions& pg) : conn_(connect(pg, "millrace-catalog-load")) {}
  bool is_open() const override { return conn_->is_open(); }
  std::set<std::string> category_names() override { return catalog::category_names(*conn_); }
  std::unique_ptr<CatalogUpsert> upsert(catalog::Table table) override {
    return std::make_unique<PgCatalogUpsert>(*conn_, table);
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
};

class PgChangefeedDb final : public ChangefeedDb {
 public:
  explicit PgChangefeedDb(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  pqxx::connection& connection() { return *conn_; }

  std::vector<std::string> default_tables(const std::string& schema,
                                          const std::string& kinds_dir) override {
    return changefeed::default_tables(*conn_, schema, kinds_dir);
  }
  void publish(const std::string& publication, const std::string& schema,
               const std::vector<std::string>& tables, const std::string& grant_select_to,
               const std::string& backfill_table) override {
    changefeed::publish(*conn_, publication, schema, tables, grant_select_to, backfill_table);
  }
  std::int64_t request_backfill(const std::string& schema, const std::string& backfill_table,
                                const std::string& publication, const std::string& table,
                                const std::string& where, std::int64_t chunk_size,
                                const std::string& audience) override {
    return changefeed::request_backfill(*conn_, schema, backfill_table, publication, table, where,
                                        chunk_size, audience);
  }
  std::vector<std::string> published_table_names(const std::string& publication) override {
    return changefeed::published_table_names(*conn_, publication);
  }
  bool cancel_backfill(const std::string& schema, const std::string& backfill_table,
                       std::int64_t id) override {
    return changefeed::cancel_backfill(*conn_, schema, backfill_table, id);
  }
  std::vector<changefeed::BackfillRow> list_backfills(const std::string& schema,
                                                      const std::string& backfill_table) override {
    return changefeed::list_backfills(*conn_, schema, backfill_table);
  }
  changefeed::BackfillServers backfill_servers(const std::string& schema,
                                               const std::string& backfill_table,
                                               const std::string& publication) override {
    return changefeed::backfill_servers(*conn_, schema, backfill_table, publication);
  }
  void install_outbox(const changefeed::OutboxInstall& install) override {
    changefeed::install_outbox(*conn_, install);
  }
  std::int64_t cleanup_outbox(const std::string& schema, const std::string& table,
                              const std::string& slot, std::int64_t min_age_s) override {
    return changefeed::cleanup_outbox(*conn_, schema, table, slot, min_age_s);
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
};

class PgWebhooksDb final : public WebhooksDb {
 public:
  explicit PgWebhooksDb(const pg::PgOptions& pg)
      : feed_(connect(pg, "millrace-webhooks-cli")), conn_(feed_.connection()) {}

  webhooks::AddedEndpoint add_endpoint(const webhooks::NewEndpoint& endpoint,
                                       bool allow_private) override {
    return webhooks::add_endpoint(conn_, endpoint, allow_private);
  }
  void update_endpoint(std::int64_t endpoint, const webhooks::EndpointChange& change,
                       bool allow_private) override {
    webhooks::update_endpoint(conn_, endpoint, change, allow_private);
  }
  std::string list_endpoints() override { return webhooks::list_endpoints(conn_); }
  void set_active(std::int64_t endpoint, bool active, const std::string& reason) override {
    webhooks::set_active(conn_, endpoint, active, reason);
  }
  std::string rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                            const std::string& secret) override {
    return webhooks::rotate_secret(conn_, endpoint, overlap, secret);
  }
  std::string list_deliveries(std::optional<std::int64_t> endpoint, bool failed_only,
                              std::int64_t limit) override {
    return webhooks::list_deliveries(conn_, endpoint, failed_only, limit);
  }
  std::int64_t replay_failed(std::int64_t endpoint,
                             const std::optional<std::string>& since) override {
    return webhooks::replay_failed(conn_, endpoint, since);
  }
  ChangefeedDb& changefeed() override { return feed_; }

 private:
  PgChangefeedDb feed_;  // owns the connection
  pqxx::connection& conn_;
};

class PgArchiveDb final : public ArchiveDb {
 public:
  explicit PgArchiveDb(const pg::PgOptions& pg) : conn_(connect(pg, "millrace-archive-cli")) {}

  std::vector<archive::ArchivedFile> files(const std::string& group, const std::string& topic,
                                           const archive::FileFilter& filter) override {
    pqxx::work tx(*conn_);
    return archive::load_files(tx, group, topic, filter);
  }
  ArchiveSnapshot snapshot(const std::string& group, const std::string& topic) override {
    pqxx::work tx(*conn_, "verify");
    tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    ArchiveSnapshot out;
    out.files = archive::load_files(tx, group, topic);
    out.gaps = archive::load_gaps(tx, group, topic);
    out.stored = archive::load_stored(tx, group, topic);
    tx.commit();
    return out;
  }
  std::int64_t epoch_ms(const std::string& time) override {
    pqxx::work tx(*conn_);
    return tx.exec_params1("SELECT (extract(epoch FROM $1::timestamptz) * 1000)::bigint", time)[0]
        .as<std::int64_t>();
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
};

std::atomic<bool> g_stop{false};

}  // namespace

Backend real_backend() {
  Backend b;
  b.catalog_db = [](const pg::PgOptions& pg) { return std::make_unique<PgCatalogDb>(pg); };
  b.changefeed_db = [](const pg::PgOptions& pg, const std::string& application) {
    return std::make_unique<PgChangefeedDb>(connect(pg, application));
  };
  b.webhooks_db = [](const pg::PgOptions& pg) { return std::make_unique<PgWebhooksDb>(pg); };
  b.archive_db = [](const pg::PgOptions& pg) { return std::make_unique<PgArchiveDb>(pg); };
  b.fetch = [](const std::string& url, const catalog::FetchLimits& limits) {
    return catalog::fetch(url, limits);
  };
  b.open_store = objstore::open_store;
  b.replay = archive::replay;
  b.stop_on_signals = []() -> std::atomic<bool>& {
    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    return g_stop;
  };
  b.shutdown_wait = [] {
    auto signals = std::make_shared<runtime::ShutdownSignals>();
    return std::function<bool(std::chrono::seconds)>(
        [signals](std::chrono::seconds period) { return signals->wait(period).has_value(); });
  };
  return b;
}

}  // namespace millrace::cli
