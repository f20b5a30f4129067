#pragma once

// The database side of millrace-api: one PostgreSQL session per role and
// worker, opened when first needed and again after it was lost; the
// catalog's reads (catalog::Reads); the views; the admin writes.
//
// libpqxx caller contract: a pqxx::connection is not thread-safe, so every
// object here belongs to one worker thread; a transaction is opened and
// closed within each call, so a connection never holds one between
// requests (and never sits idle in a transaction).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/catalog/reads.hpp"
#include "millrace/pg/database.hpp"
#include "ports.hpp"

namespace millrace::api {

// A session of one role, (re)connected on demand. It never creates the
// schema (pg::SchemaSetup::kUseExisting): the API's roles may not (CREATE on
// the database), and a schema that is not there is a configuration error,
// not something to paper over with an empty one, so it checks for it.
class Session {
 public:
  Session(std::string conninfo, std::string schema, std::string application_name,
          pg::SessionLimits limits);
  // The connection, opened if needed. Throws core::InfraError (retryable
  // when the server is unreachable; fatal for bad credentials, a missing
  // schema).
  pqxx::connection& get();
  // Forgets the connection after a failure that may have broken it.
  void reset() { connection_.reset(); }

  // Runs `body(connection)`; a failure becomes core::InfraError (prefixed by
  // `context`, classified by pg::classify) and drops a connection that may
  // be broken.
  template <typename Body>
  auto with(std::string_view context, Body&& body)
      -> decltype(body(std::declval<pqxx::connection&>()));
  // As with(), but what is the request's fault, not the session's, goes on
  // as a std::invalid_argument: one `body` throws (a request that cannot be
  // done), and what PostgreSQL refuses for the values sent (a constraint,
  // data it cannot take), with the first line of its message (the rest may
  // quote the row, a secret in it).
  template <typename Body>
  auto with_refusals(std::string_view context, Body&& body)
      -> decltype(body(std::declval<pqxx::connection&>()));

 private:
  [[noreturn]] void fail(std::string_view context);

  std::string conninfo_;
  std::string schema_;
  std::string application_name_;
  pg::SessionLimits limits_;
  std::unique_ptr<pqxx::connection> connection_;
};

template <typename Body>
auto Session::with(std::string_view context, Body&& body)
    -> decltype(body(std::declval<pqxx::connection&>())) {
  try {
    return body(get());
  } catch (const std::exception&) {
    fail(context);
  }
}

// PostgreSQL's refusal of a request's values, as std::invalid_argument.
[[noreturn]] void refuse_values(const pqxx::sql_error& e);

template <typename Body>
auto Session::with_refusals(std::string_view context, Body&& body)
    -> decltype(body(std::declval<pqxx::connection&>())) {
  try {
    return body(get());
  } catch (const pqxx::integrity_constraint_violation& e) {
    refuse_values(e);
  } catch (const pqxx::data_exception& e) {
    refuse_values(e);
  } catch (const pqxx::argument_error&) {
    fail(context);  // libpqxx's: a bug here, not the request's
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception&) {
    fail(context);
  }
}

// webhooks/admin.hpp on the admin session.
class PgWebhookAdmin final : public WebhookAdmin {
 public:
  // `admin` null: no admin connection (the router answers 503 before any
  // call). `allow_private`: URLs on loopback and private addresses may be
  // registered (MILLRACE_WEBHOOKS_ALLOW_PRIVATE).
  PgWebhookAdmin(Session* admin, bool allow_private)
      : admin_(admin), allow_private_(allow_private) {}

  webhooks::AddedEndpoint add(const webhooks::NewEndpoint& endpoint) override;
  void update(std::int64_t endpoint, const webhooks::EndpointChange& change) override;
  std::vector<webhooks::Endpoint> endpoints(std::optional<std::int64_t> endpoint) override;
  void set_active(std::int64_t endpoint, bool active, const std::string& reason) override;
  std::string rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                            const std::string& secret) override;
  std::vector<webhooks::DeliveryRecord> deliveries(std::int64_t endpoint, bool failed_only,
                                                   std::int64_t limit,
                                                   std::optional<std::int64_t> before) override;
  std::int64_t replay(std::int64_t endpoint, const std::optional<std::string>& since) override;

 private:
  Session& admin();

  Session* admin_;
  bool allow_private_;
};

// catalog::Reads on the reader's session, rendered by catalog/json.hpp.
class PgReads final : public catalog::Reads {
 public:
  explicit PgReads(Session& reader) : reader_(reader) {}
  std::optional<std::string> category(std::string_view name) override;
  std::string categories() override;
  std::optional<std::string> product(std::int64_t sku) override;

 private:
  Session& reader_;
};

class PgBackend final : public Backend {
 public:
  // `reads` is what the service's ReadsFactory made of a PgReads on
  // `reader` (so the backend owns both, the session outliving the reads).
  // `allow_private_webhooks`: ApiConfig's; without an admin session it is
  // never read.
  PgBackend(std::unique_ptr<Session> reader, std::unique_ptr<Session> admin,
            bool allow_private_webhooks = false);
  void set_reads(std::unique_ptr<catalog::Reads> reads) { reads_ = std::move(reads); }
  Session& reader() { return *reader_; }

  Rows read(const ViewQuery& query) override;
  catalog::Reads& catalog() override { return *reads_; }
  WriteResult create(const catalog::Record& record) override;
  WriteResult put(const catalog::Record& record) override;
  WriteResult remove(catalog::Table table, const std::string& key) override;
  WebhookAdmin& webhooks() override { return webhooks_; }

 private:
  WriteResult write(const catalog::Record& record, bool upsert);

  std::unique_ptr<Session> reader_;
  std::unique_ptr<Session> admin_;  // null: no admin DSN
  std::unique_ptr<catalog::Reads> reads_;
  PgWebhookAdmin webhooks_;
};

}  // namespace millrace::api
