#pragma once

// What a request needs from the database, as one API worker sees it. The
// PostgreSQL implementation is pg_backend.hpp; the unit tests drive the
// routing through fakes (tests/fakes.hpp). Caller contract: one object per
// worker, used by one thread at a time. Every method throws
// core::InfraError when the database cannot answer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/catalog/reads.hpp"
#include "millrace/catalog/records.hpp"
#include "render.hpp"
#include "views.hpp"

namespace millrace::api {

struct ViewQuery {
  const View* view = nullptr;
  std::int64_t limit = 0;
  std::optional<std::int64_t> from_us;  // windowed views only
  std::optional<std::int64_t> to_us;
  std::optional<std::string> group;  // accounting only
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

 protected:
  Backend() = default;
  Backend(const Backend&) = default;
  Backend& operator=(const Backend&) = default;
};

}  // namespace millrace::api
