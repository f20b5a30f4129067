#include "copy_stream.hpp"

#include <optional>
#include <pqxx/largeobject>
#include <pqxx/pqxx>
#include <stdexcept>

namespace millrace::pg::detail {

namespace {

// libpqxx 6.4 keeps a connection's PGconn to itself and its friends; its
// large objects hand it to classes derived from them, for their own calls
// to libpq. The COPY is such a call. (Its own COPY writer, tablewriter,
// deprecated there, reports a line it could not send as a plain failure
// even when the server is gone.)
struct RawConnection : pqxx::largeobject {
  static PGconn* of(const pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

const pqxx::dbtransaction& as_transaction(const pqxx::transaction_base& tx) {
  const auto* t = dynamic_cast<const pqxx::dbtransaction*>(&tx);
  if (t == nullptr) throw std::logic_error("a COPY needs a transaction, not a nontransaction");
  return *t;
}

}  // namespace

CopyStream::CopyStream(pqxx::transaction_base& tx, const std::string& table,
                       const std::vector<std::string>& columns, Format format) {
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c;
  query_ = "COPY " + table + " (" + names + ") FROM STDIN" +
           (format == Format::kBinary ? " (FORMAT binary)" : "");
  conn_ = RawConnection::of(as_transaction(tx));
  // libpqxx takes the COPY_IN answer as a success and leaves the
  // connection in the COPY for the calls below.
  tx.exec(query_);
  open_ = true;
}

CopyStream::~CopyStream() {
  if (!open_) return;
  if (PQputCopyEnd(conn_, "abandoned by the client") == 1) {
    while (PGresult* r = PQgetResult(conn_)) PQclear(r);
  }
}

void CopyStream::send(std::string_view bytes) {
  if (bytes.empty()) return;
  if (PQputCopyData(conn_, bytes.data(), static_cast<int>(bytes.size())) != 1) {
    if (PQstatus(conn_) != CONNECTION_OK) open_ = false;  // nothing left to end
    fail(PQerrorMessage(conn_), "");
  }
}

void CopyStream::finish() {
  open_ = false;
  if (PQputCopyEnd(conn_, nullptr) != 1) fail(PQerrorMessage(conn_), "");
  std::optional<std::pair<std::string, std::string>> error;  // message, SQLSTATE
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && !error) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      error.emplace(PQresultErrorMessage(r), state != nullptr ? state : "");
    }
    PQclear(r);
  }
  if (error) fail(error->first, error->second);
}

// The exception libpqxx itself throws for a statement's failure, by its
// SQLSTATE: what pg::classify and OptimisticCopy expect.
void CopyStream::fail(const std::string& message, const std::string& sqlstate) {
  if (PQstatus(conn_) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0) {
    throw pqxx::broken_connection(message);
  }
  if (sqlstate == "23505") throw pqxx::unique_violation(message, query_, sqlstate.c_str());
  throw pqxx::sql_error(message, query_, sqlstate.empty() ? nullptr : sqlstate.c_str());
}

}  // namespace millrace::pg::detail
