#pragma once

// What a request needs from the database, as one API worker sees it. The
// PostgreSQL implementation is pg_backend.hpp; the unit tests drive the
// routing through fakes (tests/fakes.hpp). Caller contract: one object per
// worker, used by one thread at a time. Every method throws
// core::InfraError when the database cannot answer.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/catalog/reads.hpp"
#include "millrace/catalog/records.hpp"
#include "millrace/webhooks/admin.hpp"
#include "render.hpp"
#include "views.hpp"

namespace millrace::api {

struct ViewQuery {
  const View* view = nullptr;
  std::int64_t limit = 0;
  std::optional<std::int64_t> from_us;  // windowed views only
  std::optional<std::int64_t> to_us;
  std::optional<std::string> group;  // accounting only
  // (dimension, value): rows whose dimension's text is the value.
  std::vector<std::pair<std::string, std::string>> filters;
};

enum class WriteOutcome : std::uint8_t {
  kCreated,   // 201, body: the stored row
  kUpdated,   // 200, body: the stored row (also when nothing changed)
  kDeleted,   // 204
  kNotFound,  // 404 (DELETE of a key that is not there)
  kConflict,  // 409: a duplicate POST, a product's unknown category, a category in use
};

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::kNotFound;
  std::string body;    // catalog/json.hpp's rendering of the row, for 200 and 201
  std::string detail;  // 409: why
};

// /v1/webhooks/endpoints: webhooks/admin.hpp's operations on the admin
// connection, with the API's setting of which URLs may be registered. Each
// throws as those do: webhooks::NotFound for an endpoint that is not there,
// std::invalid_argument for a request that cannot be done (the message says
// why), core::InfraError when the database cannot answer.
class WebhookAdmin {
 public:
  virtual ~WebhookAdmin() = default;

  virtual webhooks::AddedEndpoint add(const webhooks::NewEndpoint& endpoint) = 0;
  virtual void update(std::int64_t endpoint, const webhooks::EndpointChange& change) = 0;
  // Every endpoint, or the one asked for.
  virtual std::vector<webhooks::Endpoint> endpoints(std::optional<std::int64_t> endpoint) = 0;
  virtual void set_active(std::int64_t endpoint, bool active, const std::string& reason) = 0;
  // The new secret (`secret`, or a new one when empty).
  virtual std::string rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                                    const std::string& secret) = 0;
  // Newest first, at most `limit`, with ids below `before`.
  virtual std::vector<webhooks::DeliveryRecord> deliveries(std::int64_t endpoint, bool failed_only,
                                                           std::int64_t limit,
                                                           std::optional<std::int64_t> before) = 0;
  // How many failed deliveries went back to the queue; `since` a
  // timestamptz literal.
  virtual std::int64_t replay(std::int64_t endpoint, const std::optional<std::string>& since) = 0;

 protected:
  WebhookAdmin() = default;
  WebhookAdmin(const WebhookAdmin&) = default;
  WebhookAdmin& operator=(const WebhookAdmin&) = default;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The view's rows in its order, at most query.limit of them.
  virtual Rows read(const ViewQuery& query) = 0;
  // The catalog, through the reads the service's ReadsFactory made.
  virtual catalog::Reads& catalog() = 0;

  // Admin writes, on the admin connection (the router answers 503 before
  // calling these when none is configured).
  // POST: insert; a key already there is a conflict.
  virtual WriteResult create(const catalog::Record& record) = 0;
  // PUT: insert or replace.
  virtual WriteResult put(const catalog::Record& record) = 0;
  // DELETE.
  virtual WriteResult remove(catalog::Table table, const std::string& key) = 0;
  // The webhook endpoints, on the admin connection too.
  virtual WebhookAdmin& webhooks() = 0;

 protected:
  Backend() = default;
  Backend(const Backend&) = default;
  Backend& operator=(const Backend&) = default;
};

}  // namespace millrace::api
