#include "millrace/pg/partitions.hpp"

#include <cstdio>

namespace millrace::pg {

std::vector<StorePartition> list_store_partitions(pqxx::connection& connection, bool exact) {
  pqxx::read_transaction tx(connection);
  std::vector<StorePartition> out;
  for (const auto& r : tx.exec(
           "SELECT p.name, to_char(p.from_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
           "to_char(p.to_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
           "greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) "
           "FROM store_partitions p JOIN pg_class c ON c.oid = to_regclass(quote_ident(p.name)) "
           "WHERE p.table_name = 'store_events' ORDER BY p.from_ts")) {
    StorePartition p{r[0].as<std::string>(),
                     r[1].as<std::string>(),
                     r[2].as<std::string>(),
                     r[3].as<std::int64_t>(),
                     false,
                     r[4].as<std::int64_t>()};
    if (exact) {
      p.rows = tx.exec1("SELECT count(*) FROM " + tx.quote_name(p.name))[0].as<std::int64_t>();
      p.rows_exact = true;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string render_store_partitions(const std::vector<StorePartition>& partitions) {
  std::string out;
  char line[256];
  std::int64_t rows = 0, bytes = 0;
  for (const auto& p : partitions) {
    std::snprintf(line, sizeof line, "%-28s %s .. %s UTC  %12lld rows%s  %8.1f MB\n",
                  p.name.c_str(), p.from_ts.c_str(), p.to_ts.c_str(),
                  static_cast<long long>(p.rows), p.rows_exact ? "" : " (estimate)",
                  static_cast<double>(p.bytes) / 1e6);
    out += line;
    rows += p.rows;
    bytes += p.bytes;
  }
  std::snprintf(line, sizeof line, "%zu partition(s), %lld rows, %.1f MB\n", partitions.size(),
                static_cast<long long>(rows), static_cast<double>(bytes) / 1e6);
  out += line;
  return out;
}

}  // namespace millrace::pg
