#include "pg_backend.hpp"

#include <stdexcept>

#include "millrace/catalog/json.hpp"
#include "millrace/core/overloaded.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/webhooks/admin.hpp"
#include "query.hpp"

namespace millrace::api {

namespace {

catalog::RowText row_text(const pqxx::row& row) {
  catalog::RowText out;
  for (const auto& field : row) {
    out.emplace(field.name(),
                field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
  }
  return out;
}

std::string optional_text(pqxx::transaction_base& tx, const std::optional<std::string>& v) {
  return v ? tx.quote(*v) : "NULL";
}

constexpr const char* kCategoryColumns = "name, display_name, description, active, updated_at";
constexpr const char* kProductColumns =
    "sku, name, brand, category, list_price, active, updated_at";

// The SELECT list of a view: timestamps in RFC 3339 (every one the views
// hold is a whole hour or day, so seconds are exact).
std::string select_list(pqxx::transaction_base& tx, const View& view) {
  std::string out;
  for (const auto& c : view.columns) {
    if (!out.empty()) out += ", ";
    const std::string name = tx.quote_name(std::string(c.name));
    if (c.type == ColumnType::kTimestamp) {
      out += "to_char(" + name + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
    } else {
      out += name;
    }
  }
  return out;
}

}  // namespace

Session::Session(std::string conninfo, std::string schema, std::string application_name,
                 pg::SessionLimits limits)
    : conninfo_(std::move(conninfo)),
      schema_(std::move(schema)),
      application_name_(std::move(application_name)),
      limits_(limits) {}

pqxx::connection& Session::get() {
  if (connection_ && connection_->is_open()) return *connection_;
  connection_.reset();
  // Failures name the session: the reader's and the admin's connect with
  // different DSNs.
  std::unique_ptr<pqxx::connection> c;
  try {
    c = pg::connect(conninfo_, schema_, application_name_, limits_, pg::SchemaSetup::kUseExisting);
  } catch (const core::InfraError& e) {
    throw core::InfraError(e.failure_class(), application_name_ + ": " + e.what());
  }
  bool exists = false;
  try {
    pqxx::nontransaction tx(*c);
    exists =
        tx.exec1("SELECT to_regnamespace(" + tx.quote(tx.quote_name(schema_)) + ") IS NOT NULL")[0]
            .as<bool>();
  } catch (const std::exception&) {
    pg::rethrow_classified(application_name_ + ": postgresql connect");
  }
  if (!exists) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "schema " + schema_ +
                               " does not exist or this role may not use it (run `millrace "
                               "migrate`, then `millrace api grant`)");
  }
  connection_ = std::move(c);
  return *connection_;
}

void Session::fail(std::string_view context) {
  try {
    throw;
  } catch (const core::InfraError&) {
    reset();
    throw;
  } catch (const std::exception& e) {
    if (pg::classify(e) == core::FailureClass::kRetryable) reset();
    pg::rethrow_classified(context);
  }
}

void refuse_values(const pqxx::sql_error& e) {
  std::string_view first(e.what());
  first = first.substr(0, first.find('\n'));
  if (first.starts_with("ERROR:")) first.remove_prefix(6);
  while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  throw std::invalid_argument("PostgreSQL refused the values: " + std::string(first));
}

Session& PgWebhookAdmin::admin() {
  if (admin_ == nullptr) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "webhook endpoints need the admin connection (MILLRACE_API_ADMIN_PG)");
  }
  return *admin_;
}

webhooks::AddedEndpoint PgWebhookAdmin::add(const webhooks::NewEndpoint& endpoint) {
  return admin().with_refusals("adding a webhook endpoint", [&](pqxx::connection& c) {
    return webhooks::add_endpoint(c, endpoint, allow_private_);
  });
}

void PgWebhookAdmin::update(std::int64_t endpoint, const webhooks::EndpointChange& change) {
  admin().with_refusals("updating a webhook endpoint", [&](pqxx::connection& c) {
    webhooks::update_endpoint(c, endpoint, change, allow_private_);
  });
}

std::vector<webhooks::Endpoint> PgWebhookAdmin::endpoints(std::optional<std::int64_t> endpoint) {
  return admin().with_refusals("reading webhook endpoints", [&](pqxx::connection& c) {
    return webhooks::read_endpoints(c, endpoint);
  });
}

void PgWebhookAdmin::set_active(std::int64_t endpoint, bool active, const std::string& reason) {
  admin().with_refusals(
      active ? "enabling a webhook endpoint" : "disabling a webhook endpoint",
      [&](pqxx::connection& c) { webhooks::set_active(c, endpoint, active, reason); });
}

std::string PgWebhookAdmin::rotate_secret(std::int64_t endpoint, std::chrono::seconds overlap,
                                          const std::string& secret) {
  return admin().with_refusals("rotating a webhook secret", [&](pqxx::connection& c) {
    return webhooks::rotate_secret(c, endpoint, overlap, secret);
  });
}

std::vector<webhooks::DeliveryRecord> PgWebhookAdmin::deliveries(
    std::int64_t endpoint, bool failed_only, std::int64_t limit,
    std::optional<std::int64_t> before) {
  return admin().with_refusals("reading webhook deliveries", [&](pqxx::connection& c) {
    return webhooks::read_deliveries(c, endpoint, failed_only, limit, before);
  });
}

std::int64_t PgWebhookAdmin::replay(std::int64_t endpoint,
                                    const std::optional<std::string>& since) {
  return admin().with_refusals("replaying webhook deliveries", [&](pqxx::connection& c) {
    return webhooks::replay_failed(c, endpoint, since);
  });
}

std::optional<std::string> PgReads::category(std::string_view name) {
  return reader_.with("reading category", [&](pqxx::connection& c) -> std::optional<std::string> {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec(std::string("SELECT ") + kCategoryColumns +
                           " FROM categories WHERE name = " + tx.quote(std::string(name)));
    if (r.empty()) return std::nullopt;
    return catalog::category_json(row_text(r[0]));
  });
}

std::string PgReads::categories() {
  return reader_.with("reading the categories", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> items;
    for (const auto& row :
         tx.exec(std::string("SELECT ") + kCategoryColumns + " FROM categories ORDER BY name")) {
      items.push_back(catalog::category_json(row_text(row)));
    }
    return catalog::category_list_json(items);
  });
}

std::optional<std::string> PgReads::product(std::int64_t sku) {
  return reader_.with("reading product", [&](pqxx::connection& c) -> std::optional<std::string> {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec(std::string("SELECT ") + kProductColumns +
                           " FROM products WHERE sku = " + std::to_string(sku));
    if (r.empty()) return std::nullopt;
    return catalog::product_json(row_text(r[0]));
  });
}

PgBackend::PgBackend(std::unique_ptr<Session> reader, std::unique_ptr<Session> admin,
                     bool allow_private_webhooks)
    : reader_(std::move(reader)),
      admin_(std::move(admin)),
      webhooks_(admin_.get(), allow_private_webhooks) {}

Rows PgBackend::read(const ViewQuery& q) {
  return reader_->with("reading " + std::string(q.view->name), [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::string sql =
        "SELECT " + select_list(tx, *q.view) + " FROM " + tx.quote_name(std::string(q.view->name));
    std::string where;
    const auto add = [&](const std::string& condition) {
      where += (where.empty() ? " WHERE " : " AND ") + condition;
    };
    if (q.from_us)
      add("window_start >= " + tx.quote(timestamptz_literal(*q.from_us)) + "::timestamptz");
    if (q.to_us) add("window_start < " + tx.quote(timestamptz_literal(*q.to_us)) + "::timestamptz");
    if (q.group) add("group_id = " + tx.quote(*q.group));
    // Dimensions are the view's own columns (parse_params took no other).
    for (const auto& [column, value] : q.filters) {
      add(tx.quote_name(column) + "::text = " + tx.quote(value));
    }
    // One row more than asked for tells whether the limit cut anything.
    sql += where + " ORDER BY " + std::string(q.view->order_by) + " LIMIT " +
           std::to_string(q.limit + 1);
    Rows out;
    // Before the rows (each statement reads its own snapshot): a fill that
    // ends meanwhile is still said, never one that has not ended.
    if (q.view->grain == pg::ViewGrain::kDeclared) {
      out.fill = pg::view_fill_state(tx, std::string(q.view->name));
    }
    for (const auto& row : tx.exec(sql)) {
      if (static_cast<std::int64_t>(out.rows.size()) == q.limit) {
        out.truncated = true;
        break;
      }
      auto& values = out.rows.emplace_back();
      for (const auto& field : row) {
        values.push_back(field.is_null() ? std::nullopt
                                         : std::optional<std::string>(field.c_str()));
      }
    }
    return out;
  });
}

WriteResult PgBackend::write(const catalog::Record& record, bool upsert) {
  return admin_->with("writing the catalog", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    WriteResult out;
    std::string sql;
    std::visit(
        core::Overloaded{
            [&](const catalog::Category& k) {
              sql =
                  "INSERT INTO categories AS t (name, display_name, description, active) "
                  "VALUES (" +
                  tx.quote(k.name) + ", " + tx.quote(k.display_name) + ", " +
                  optional_text(tx, k.description) + ", " + (k.active ? "true" : "false") + ")" +
                  (upsert ? " ON CONFLICT (name) DO UPDATE SET display_name = "
                            "EXCLUDED.display_name, description = EXCLUDED.description, active "
                            "= EXCLUDED.active"
                          : " ON CONFLICT (name) DO NOTHING") +
                  " RETURNING " + kCategoryColumns + ", xmax = 0 AS inserted";
              out.detail = "category \"" + k.name + "\" exists; PUT it to replace it";
            },
            [&](const catalog::Product& p) {
              sql =
                  "INSERT INTO products AS t (sku, name, brand, category, list_price, active) "
                  "VALUES (" +
                  std::to_string(p.sku) + ", " + tx.quote(p.name) + ", " +
                  optional_text(tx, p.brand) + ", " + tx.quote(p.category) + ", " +
                  p.list_price.to_string() + ", " + (p.active ? "true" : "false") + ")" +
                  (upsert ? " ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, brand = "
                            "EXCLUDED.brand, category = EXCLUDED.category, list_price = "
                            "EXCLUDED.list_price, active = EXCLUDED.active"
                          : " ON CONFLICT (sku) DO NOTHING") +
                  " RETURNING " + kProductColumns + ", xmax = 0 AS inserted";
              out.detail = "product " + std::to_string(p.sku) + " exists; PUT it to replace it";
            },
            [&](const catalog::Asset&) {
              // The routes take categories and products only (parse_body).
              throw std::logic_error("the API does not write assets");
            }},
        record);
    pqxx::result r;
    try {
      r = tx.exec(sql);
    } catch (const pqxx::foreign_key_violation&) {
      const auto& p = std::get<catalog::Product>(record);
      return WriteResult{WriteOutcome::kConflict, "",
                         "category \"" + p.category + "\" is not in the catalog"};
    }
    if (r.empty()) {
      out.outcome = WriteOutcome::kConflict;  // ON CONFLICT DO NOTHING: the key exists
      return out;
    }
    auto row = row_text(r[0]);
    const bool inserted = row.at("inserted") == std::optional<std::string>("t");
    row.erase("inserted");
    tx.commit();
    out.outcome = inserted ? WriteOutcome::kCreated : WriteOutcome::kUpdated;
    out.body = std::holds_alternative<catalog::Category>(record) ? catalog::category_json(row)
                                                                 : catalog::product_json(row);
    out.detail.clear();
    return out;
  });
}

WriteResult PgBackend::create(const catalog::Record& record) {
  return write(record, false);
}

WriteResult PgBackend::put(const catalog::Record& record) {
  return write(record, true);
}

WriteResult PgBackend::remove(catalog::Table table, const std::string& key) {
  return admin_->with("deleting from the catalog", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const bool categories = table == catalog::Table::kCategories;
    // The router passes only keys that parse (a positive sku).
    const std::string sql = categories
                                ? "DELETE FROM categories WHERE name = " + tx.quote(key)
                                : "DELETE FROM products WHERE sku = " + tx.quote(key) + "::bigint";
    pqxx::result r;
    try {
      r = tx.exec(sql);
    } catch (const pqxx::foreign_key_violation&) {
      return WriteResult{WriteOutcome::kConflict, "",
                         "category \"" + key +
                             "\" is still named by products; delete or move them first, or PUT "
                             "it with \"active\": false"};
    }
    if (r.affected_rows() == 0) {
      return WriteResult{WriteOutcome::kNotFound, "",
                         categories ? "no such category" : "no such product"};
    }
    tx.commit();
    return WriteResult{WriteOutcome::kDeleted, "", ""};
  });
}

}  // namespace millrace::api
