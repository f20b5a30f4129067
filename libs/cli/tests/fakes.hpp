#pragma once

// A Context with in-memory streams, and fakes of the ports that record what
// the commands asked of them: the CLI's unit tests run every command
// without a server.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "millrace/cli/cli.hpp"
#include "millrace/cli/ports.hpp"
#include "millrace/core/failure.hpp"

namespace millrace::cli::testing {

// One run of `millrace ARGS...` on in-memory streams, with an empty
// environment and no backend but what a test sets.
struct Harness {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  Context ctx{in, out, err, {}, Backend{}};
  std::atomic<bool> stop{false};
  int stop_installs = 0;

  Harness() {
    ctx.backend.stop_on_signals = [this]() -> std::atomic<bool>& {
      ++stop_installs;
      return stop;
    };
  }
  int run(const std::vector<std::string>& args) { return cli::run(args, ctx); }
  // `command` followed by `flags`.
  int run(std::vector<std::string> command, const std::vector<std::string>& flags) {
    command.insert(command.end(), flags.begin(), flags.end());
    return run(command);
  }
};

struct CatalogState {
  std::set<std::string> categories;
  std::vector<std::string> calls;  // in order: "connect", "categories", "upsert products", ...
  std::vector<catalog::Record> added;
  bool open = true;
  bool fail_commit = false;
};

class FakeCatalogDb final : public CatalogDb {
 public:
  explicit FakeCatalogDb(CatalogState& s) : s_(s) { s_.calls.push_back("connect"); }
  bool is_open() const override { return s_.open; }
  std::set<std::string> category_names() override {
    s_.calls.push_back("categories");
    return s_.categories;
  }
  std::unique_ptr<CatalogUpsert> upsert(catalog::Table table) override {
    s_.calls.push_back("upsert " + std::string(catalog::table_name(table)));
    return std::make_unique<Upsert>(s_);
  }

 private:
  class Upsert final : public CatalogUpsert {
   public:
    explicit Upsert(CatalogState& s) : s_(s) {}
    void add(const catalog::Record& record) override {
      s_.added.push_back(record);
      ++pending_;
    }
    catalog::UpsertCounts commit() override {
      s_.calls.push_back("commit");
      if (s_.fail_commit) throw core::InfraError(core::FailureClass::kRetryable, "server gone");
      catalog::UpsertCounts counts;
      counts.inserted = pending_;
      return counts;
    }

   private:
    CatalogState& s_;
    std::uint64_t pending_ = 0;
  };
  CatalogState& s_;
};

struct ChangefeedState {
  std::vector<std::string> calls;
  std::vector<std::string> default_tables;
  std::vector<std::string> published;
  changefeed::BackfillServers servers;
  std::vector<changefeed::BackfillRow> backfills;
  std::set<std::int64_t> cancellable;
  std::int64_t next_id = 41;
  std::vector<std::string> audiences;
};

class FakeChangefeedDb final : public ChangefeedDb {
 public:
  explicit FakeChangefeedDb(ChangefeedState& s) : s_(s) {}
  std::vector<std::string> default_tables(const std::string& schema,
                                          const std::string& kinds_dir) override {
    s_.calls.push_back("default_tables " + schema + (kinds_dir.empty() ? "" : " " + kinds_dir));
    return s_.default_tables;
  }
  void publish(const std::string& publication, const std::string& schema,
               const std::vector<std::string>& tables, const std::string& grant_select_to,
               const std::string& backfill_table) override {
    std::string list;
    for (const auto& t : tables) list += (list.empty() ? "" : ",") + t;
    s_.calls.push_back("publish " + publication + " " + schema + " " + list +
                       " grant=" + grant_select_to + " " + backfill_table);
  }
  std::int64_t request_backfill(const std::string& schema, const std::string& backfill_table,
                                const std::string& publication, const std::string& table,
                                const std::string& where, std::int64_t chunk_size,
                                const std::string& audience) override {
    s_.calls.push_back("request " + schema + "." + backfill_table + " " + publication + " " +
                       table + " where=" + where + " chunk=" + std::to_string(chunk_size));
    s_.audiences.push_back(audience);
    return ++s_.next_id;
  }
  std::vector<std::string> published_table_names(const std::string& publication) override {
    s_.calls.push_back("published " + publication);
    return s_.published;
  }
  bool cancel_backfill(const std::string&, const std::string&, std::int64_t id) override {
    s_.calls.push_back("cancel " + std::to_string(id));
    return s_.cancellable.count(id) > 0;
  }
  std::vector<changefeed::BackfillRow> list_backfills(const std::string&,
                                                      const std::string&) override {
    return s_.backfills;
  }
  changefeed::BackfillServers backfill_servers(const std::string& schema,
                                               const std::string& backfill_table,
                                               const std::string& publication) override {
    s_.calls.push_back("servers " + publication);
    auto out = s_.servers;
    out.publication = publication;
    out.schema = schema;
    out.signal_table = schema + "." + backfill_table;
    return out;
  }
  void install_outbox(const changefeed::OutboxInstall& in) override {
    s_.calls.push_back("install_outbox " + in.schema + "." + in.table + " " + in.publication +
                       " insert=" + in.grant_insert_to + " select=" + in.grant_select_to);
  }
  std::int64_t cleanup_outbox(const std::string& schema, const std::string& table,
                              const std::string& slot, std::int64_t min_age_s) override {
    s_.calls.push_back("cleanup_outbox " + schema + "." + table + " " + slot + " " +
                       std::to_string(min_age_s));
    return 3;
  }

 private:
  ChangefeedState& s_;
};

struct WebhooksState {
  std::vector<webhooks::NewEndpoint> added;
  std::vector<bool> allow_private;
  std::vector<std::pair<std::int64_t, webhooks::EndpointChange>> updates;
  std::vector<std::string> calls;
  std::string listing = "id url\n";
  std::string invalid;  // non-empty: add_endpoint throws std::invalid_argument with it
  ChangefeedState feed;
};

class FakeWebhooksDb final : public WebhooksDb {
 public:
  explicit FakeWebhooksDb(WebhooksState& s) : s_(s), feed_(s.feed) {}
  webhooks::AddedEndpoint add_endpoint(const webhooks::NewEndpoint& endpoint,
                                       bool allow_private) override {
    if (!s_.invalid.empty()) throw std::invalid_argument(s_.invalid);
    s_.added.push_back(endpoint);
    s_.allow_private.push_back(allow_private);
    return {7, "whsec_generated"};
  }
  void update_endpoint(std::int64_t endpoint, const webhooks::EndpointChange& change,
                       bool allow_private) override {
    s_.updates.emplace_back(endpoint, change);
    s_.allow_private.push_back(allow_private);
  }
  std::string list_endpoints() override { return s_.listing; }
  void set_active(std::int64_t endpoint, bool active, const std::string& reason) override {
    s_.calls.push_back("set_active " + std::to_string(endpoint) + " " + (active ? "1" : "0") + " " +
                       reason);
  }
  std::string rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                            const std::string& secret) override {
    s_.calls.push_back("rotate " + std::to_string(endpoint) + " " +
                       std::to_string(overlap.count()) + " " + secret);
    return "whsec_fresh";
  }
  std::string list_deliveries(std::optional<std::int64_t> endpoint, bool failed_only,
                              std::int64_t limit) override {
    s_.calls.push_back("deliveries " + (endpoint ? std::to_string(*endpoint) : "all") + " " +
                       (failed_only ? "failed" : "any") + " " + std::to_string(limit));
    return "deliveries\n";
  }
  std::int64_t replay_failed(std::int64_t endpoint,
                             const std::optional<std::string>& since) override {
    s_.calls.push_back("replay " + std::to_string(endpoint) + " " + since.value_or("-"));
    return 3;
  }
  ChangefeedDb& changefeed() override { return feed_; }

 private:
  WebhooksState& s_;
  FakeChangefeedDb feed_;
};

struct ArchiveState {
  std::vector<archive::ArchivedFile> files;
  std::vector<archive::OffsetGap> gaps;
  std::map<std::int32_t, std::int64_t> stored;
  std::vector<archive::FileFilter> filters;   // each files() call's
  std::string invalid_time;                   // files() refuses a filter naming it
  std::map<std::string, std::int64_t> times;  // epoch_ms' answers
};

class FakeArchiveDb final : public ArchiveDb {
 public:
  explicit FakeArchiveDb(ArchiveState& s) : s_(s) {}
  std::vector<archive::ArchivedFile> files(const std::string&, const std::string&,
                                           const archive::FileFilter& filter) override {
    s_.filters.push_back(filter);
    if (!s_.invalid_time.empty() &&
        (filter.from == s_.invalid_time || filter.to == s_.invalid_time)) {
      throw std::invalid_argument("invalid time \"" + s_.invalid_time + "\"");
    }
    return s_.files;
  }
  ArchiveSnapshot snapshot(const std::string&, const std::string&) override {
    return {s_.files, s_.gaps, s_.stored};
  }
  std::int64_t epoch_ms(const std::string& time) override { return s_.times.at(time); }

 private:
  ArchiveState& s_;
};

}  // namespace millrace::cli::testing
