#include "millrace/catalog/store.hpp"

#include "millrace/core/overloaded.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::catalog {

namespace {

std::string optional_text(pqxx::work& tx, const std::optional<std::string>& v) {
  return v ? tx.quote(*v) : "NULL";
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
  const std::string sql =
      table_ == Table::kCategories
          ? "INSERT INTO categories AS t (name, display_name, description, active) VALUES " +
                values +
                " ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, "
                "description = EXCLUDED.description, active = EXCLUDED.active WHERE "
                "(t.display_name, t.description, t.active) IS DISTINCT FROM "
                "(EXCLUDED.display_name, EXCLUDED.description, EXCLUDED.active) "
                "RETURNING xmax = 0"
          : "INSERT INTO products AS t (sku, name, brand, category, list_price, active) VALUES " +
                values +
                " ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, brand = EXCLUDED.brand, "
                "category = EXCLUDED.category, list_price = EXCLUDED.list_price, active = "
                "EXCLUDED.active WHERE (t.name, t.brand, t.category, t.list_price, t.active) IS "
                "DISTINCT FROM (EXCLUDED.name, EXCLUDED.brand, EXCLUDED.category, "
                "EXCLUDED.list_price, EXCLUDED.active) RETURNING xmax = 0";
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
