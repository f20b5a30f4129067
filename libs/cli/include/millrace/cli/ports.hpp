#pragma once

// The ports `millrace`'s commands reach PostgreSQL through, where a
// command does more than forward to a library function: what it decides
// and prints is unit-tested against fakes (libs/cli/tests/fakes.hpp), and
// src/backend.cpp holds the adapters over a real connection.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "millrace/archive/index.hpp"
#include "millrace/catalog/records.hpp"
#include "millrace/catalog/store.hpp"
#include "millrace/changefeed/admin.hpp"
#include "millrace/webhooks/admin.hpp"

namespace millrace::cli {

// One load's transaction (catalog::Upsert): nothing is stored unless
// commit() returns.
class CatalogUpsert {
 public:
  virtual ~CatalogUpsert() = default;
  virtual void add(const catalog::Record& record) = 0;
  virtual catalog::UpsertCounts commit() = 0;
};

// `millrace catalog load`'s database.
class CatalogDb {
 public:
  virtual ~CatalogDb() = default;
  // False once the connection broke: `--every` connects again.
  virtual bool is_open() const = 0;
  // Read before the upsert's transaction begins (one at a time per connection).
  virtual std::set<std::string> category_names() = 0;
  virtual std::unique_ptr<CatalogUpsert> upsert(catalog::Table table) = 0;
};

// `millrace changefeed`'s database, and `webhooks add --backfill`'s
// (libs/changefeed/admin.hpp).
class ChangefeedDb {
 public:
  virtual ~ChangefeedDb() = default;
  virtual std::vector<std::string> default_tables(const std::string& schema,
                                                  const std::string& kinds_dir) = 0;
  virtual void publish(const std::string& publication, const std::string& schema,
                       const std::vector<std::string>& tables, const std::string& grant_select_to,
                       const std::string& backfill_table) = 0;
  virtual std::int64_t request_backfill(const std::string& schema,
                                        const std::string& backfill_table,
                                        const std::string& publication, const std::string& table,
                                        const std::string& where, std::int64_t chunk_size,
                                        const std::string& audience) = 0;
  virtual std::vector<std::string> published_table_names(const std::string& publication) = 0;
  virtual bool cancel_backfill(const std::string& schema, const std::string& backfill_table,
                               std::int64_t id) = 0;
  virtual std::vector<changefeed::BackfillRow> list_backfills(
      const std::string& schema, const std::string& backfill_table) = 0;
  virtual changefeed::BackfillServers backfill_servers(const std::string& schema,
                                                       const std::string& backfill_table,
                                                       const std::string& publication) = 0;
  // `millrace outbox`'s.
  virtual void install_outbox(const changefeed::OutboxInstall& install) = 0;
  virtual std::int64_t cleanup_outbox(const std::string& schema, const std::string& table,
                                      const std::string& slot, std::int64_t min_age_s) = 0;
};

// `millrace webhooks`'s database (libs/webhooks/admin.hpp).
class WebhooksDb {
 public:
  virtual ~WebhooksDb() = default;
  virtual webhooks::AddedEndpoint add_endpoint(const webhooks::NewEndpoint& endpoint,
                                               bool allow_private) = 0;
  virtual void update_endpoint(std::int64_t endpoint, const webhooks::EndpointChange& change,
                               bool allow_private) = 0;
  virtual std::string list_endpoints() = 0;
  virtual void set_active(std::int64_t endpoint, bool active, const std::string& reason) = 0;
  virtual std::string rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                                    const std::string& secret) = 0;
  virtual std::string list_deliveries(std::optional<std::int64_t> endpoint, bool failed_only,
                                      std::int64_t limit) = 0;
  virtual std::int64_t replay_failed(std::int64_t endpoint,
                                     const std::optional<std::string>& since) = 0;
  // The same connection's change feed side, for `add --backfill`.
  virtual ChangefeedDb& changefeed() = 0;
};

// What `archive verify` reads in one snapshot.
struct ArchiveSnapshot {
  std::vector<archive::ArchivedFile> files;
  std::vector<archive::OffsetGap> gaps;
  std::map<std::int32_t, std::int64_t> stored;
};

// `millrace archive`'s database: archive_files and the archiver's offsets
// (libs/archive/index.hpp).
class ArchiveDb {
 public:
  virtual ~ArchiveDb() = default;
  // Throws std::invalid_argument for a time PostgreSQL cannot read.
  virtual std::vector<archive::ArchivedFile> files(const std::string& group,
                                                   const std::string& topic,
                                                   const archive::FileFilter& filter) = 0;
  virtual ArchiveSnapshot snapshot(const std::string& group, const std::string& topic) = 0;
  // A time as PostgreSQL reads it, in milliseconds since the epoch.
  virtual std::int64_t epoch_ms(const std::string& time) = 0;
};

}  // namespace millrace::cli
