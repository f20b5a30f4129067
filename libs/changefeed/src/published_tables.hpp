#pragma once

// The tables a publication holds, described as pgoutput describes them:
// the columns it sends (not dropped, not generated, in the publication's
// column list), in order, flagged as key as pgoutput flags the replica
// identity, and the publication's row filter. The initial snapshot and
// backfills read what the stream would send: those columns, those rows.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed {

using SqlRow = std::vector<std::optional<std::string>>;
// Runs one statement and returns its rows; throws core::InfraError.
using SqlQuery = std::function<std::vector<SqlRow>(const std::string& sql)>;
// Quotes a string as an SQL literal.
using SqlLiteral = std::function<std::string(std::string_view text)>;

struct PublishedTable {
  std::shared_ptr<const Relation> relation;
  std::optional<std::string> row_filter;  // SQL, PostgreSQL 15 and later
};

// In schema and name order. Throws core::InfraError (fatal) when the server
// answers an unexpected shape.
std::vector<PublishedTable> published_tables(const SqlQuery& query, const SqlLiteral& literal,
                                             const std::string& publication);

}  // namespace millrace::changefeed
