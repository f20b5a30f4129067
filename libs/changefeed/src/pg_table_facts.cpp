#include "pg_table_facts.hpp"

#include "millrace/pg/database.hpp"
#include "millrace/pg/row.hpp"

namespace millrace::changefeed {

pqxx::connection& PgTableFacts::connection() {
  if (!conn_) {
    conn_ = std::make_unique<pqxx::connection>(
        pg::bounded_conninfo(config_.pg.url, config_.pg.connect_limits()));
  }
  return *conn_;
}

std::shared_ptr<const debezium::TableFacts> PgTableFacts::facts(const Relation& relation) {
  try {
    pqxx::nontransaction tx(connection());
    const auto rows = tx.exec_params(
        "SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), "
        "(SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
        " WHERE e.enumtypid = a.atttypid) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = "
        "a.attnum "
        "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
        static_cast<std::int64_t>(relation.oid));
    auto out = std::make_shared<debezium::TableFacts>();
    for (const auto& row : rows) {
      debezium::ColumnFacts f;
      f.not_null = row[1].as<bool>();
      if (!row[2].is_null()) f.default_expression = row[2].as<std::string>();
      f.enum_labels = pg::text_array(row[3]);
      out->columns.emplace(row[0].as<std::string>(), std::move(f));
    }
    const auto key = tx.exec_params(
        "SELECT a.attname FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, "
        "ord), pg_attribute a WHERE i.indrelid = $1 AND i.indisprimary AND a.attrelid = "
        "i.indrelid AND a.attnum = k.attnum ORDER BY k.ord",
        static_cast<std::int64_t>(relation.oid));
    for (const auto& row : key) out->primary_key.push_back(row[0].as<std::string>());
    return out;
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("columns of " + relation.schema + "." + relation.name);
  }
}

std::string PgTableFacts::database() {
  try {
    pqxx::nontransaction tx(connection());
    return tx.exec1("SELECT current_database()")[0].as<std::string>();
  } catch (const std::exception&) {
    conn_.reset();
    pg::rethrow_classified("current_database()");
  }
}

}  // namespace millrace::changefeed
