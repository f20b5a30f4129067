#pragma once

// TableFactsPort over an ordinary connection of the feed's role: what
// pg_attribute, pg_attrdef and pg_enum say of a published table's columns.
// Opened at first use, on the thread that publishes.

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/service.hpp"

namespace millrace::changefeed {

class PgTableFacts final : public debezium::TableFactsPort {
 public:
  explicit PgTableFacts(const ChangefeedConfig& config) : config_(config) {}

  std::shared_ptr<const debezium::TableFacts> facts(const Relation& relation) override;
  // current_database(). Throws core::InfraError.
  std::string database();

 private:
  pqxx::connection& connection();

  const ChangefeedConfig& config_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace millrace::changefeed
