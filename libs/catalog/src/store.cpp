#include "millrace/catalog/store.hpp"

#include "millrace/core/overloaded.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::catalog {

namespace {

std::string optional_text(pqxx::work& tx, const std::optional<std::string>& v) {
  return v ? tx.quote(*v) : "NULL";
}

// Only rows that differ are written: an unchanged one would make a change
// record (and an updated_at) for nothing.
std::string upsert_sql(Table table, const std::string& values) {
  const auto& all = columns(table);
  std::string names, set, stored, loaded;
  for (const auto c : all) {
    const std::string col(c);
    names += (names.empty() ? "" : ", ") + col;
    if (c == all.front()) continue;  // the key
    set += (set.empty() ? "" : ", ") + col + " = EXCLUDED." + col;
    stored += (stored.empty() ? "t." : ", t.") + col;
    loaded += (loaded.empty() ? "EXCLUDED." : ", EXCLUDED.") + col;
  }
  const std::string table_text(table_name(table));
  return "INSERT INTO " + table_text + " AS t (" + names + ") VALUES " + values + " ON CONFLICT (" +
         std::string(all.front()) + ") DO UPDATE SET " + set + " WHERE (" + stored +
         ") IS DISTINCT FROM (" + loaded + ") RETURNING xmax = 0";
}

}  // namespace

std::set<std::string> category_names(pqxx::connection& conn) {
  try {
    pqxx::nontransaction tx(conn);
    std::set<std::string> out;
    for (const auto& row : tx.exec("SELECT name FROM categories")) {
      out.insert(row[0].as<std::string>());
    }
    return out;
  } catch (const std::exception&) {
    pg::rethrow_classified("reading the categories");
  }
}

Upsert::Upsert(pqxx::connection& conn, Table table, std::size_t batch_rows)
    : tx_(conn), table_(table), batch_rows_(batch_rows) {}

void Upsert::add(const Record& record) {
  auto [key, row] = std::visit(
      core::Overloaded{
          [&](const Category& c) {
            return std::pair(c.name, "(" + tx_.quote(c.name) + ", " + tx_.quote(c.display_name) +
                                         ", " + optional_text(tx_, c.description) + ", " +
                                         (c.active ? "true" : "false") + ")");
          },
          [&](const Product& p) {
            return std::pair(std::to_string(p.sku),
                             "(" + std::to_string(p.sku) + ", " + tx_.quote(p.name) + ", " +
                                 optional_text(tx_, p.brand) + ", " + tx_.quote(p.category) + ", " +
                                 p.list_price.to_string() + ", " + (p.active ? "true" : "false") +
                                 ")");
          },
          [&](const Asset& a) {
            return std::pair(a.symbol, "(" + tx_.quote(a.symbol) + ", " +
                                           optional_text(tx_, a.description) + ", " +
                                           optional_text(tx_, a.type) + ", " +
                                           optional_text(tx_, a.currency) + ", " +
                                           optional_text(tx_, a.display_symbol) + ")");
          }},
      record);
  // One statement cannot upsert a key twice: a repeated key waits for the
  // next statement, so the later line wins.
  if (keys_.count(key) != 0) flush();
  keys_.insert(key);
  rows_.push_back(std::move(row));
  if (rows_.size() >= batch_rows_) flush();
}

void Upsert::flush() {
  if (rows_.empty()) return;
  std::string values;
  for (const auto& r : rows_) values += (values.empty() ? "" : ", ") + r;
  const std::string sql = upsert_sql(table_, values);
  try {
    const auto result = tx_.exec(sql);
    for (const auto& row : result) (row[0].as<bool>() ? counts_.inserted : counts_.updated)++;
    counts_.unchanged += rows_.size() - result.size();
  } catch (const std::exception&) {
    pg::rethrow_classified(std::string("loading ") + std::string(table_name(table_)));
  }
  rows_.clear();
  keys_.clear();
}

UpsertCounts Upsert::commit() {
  flush();
  try {
    tx_.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified(std::string("committing the load of ") +
                           std::string(table_name(table_)));
  }
  return counts_;
}

}  // namespace millrace::catalog
