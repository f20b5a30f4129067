#pragma once

// The catalog tables in PostgreSQL (migration 0006): upserts of loaded
// records. Caller contract: one connection whose search_path is the schema
// (pg::connect sets it); records of one table per Upsert.

#include <cstdint>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "millrace/catalog/records.hpp"

namespace millrace::catalog {

struct UpsertCounts {
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;  // equal to what was stored: not written
};

// The names in `categories` (products must name one of them).
std::set<std::string> category_names(pqxx::connection& conn);

// One transaction for a whole load: add() records in input order, commit()
// once. A record equal to the stored row is not written (no update, no
// change-feed record); a key seen again later in the input wins, as if the
// lines were applied in order. Throws core::InfraError classified as usual;
// nothing is stored unless commit() returns.
class Upsert {
 public:
  Upsert(pqxx::connection& conn, Table table, std::size_t batch_rows = 500);
  void add(const Record& record);
  UpsertCounts commit();

 private:
  void flush();

  pqxx::work tx_;
  Table table_;
  std::size_t batch_rows_;
  std::vector<std::string> rows_;  // "(v1, v2, ...)" SQL tuples
  std::set<std::string> keys_;     // of rows_
  UpsertCounts counts_;
};

}  // namespace millrace::catalog
