#pragma once

// What the change feed's end-to-end tests share: a statement run as the stack's
// owner, and a change's JSON parsed.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>

namespace millrace::testing::changefeed_tests {

inline void sql(const std::string& conninfo, const std::string& statement) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec(statement);
  tx.commit();
}

inline rapidjson::Document json(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace millrace::testing::changefeed_tests
