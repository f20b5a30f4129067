#pragma once

// The bodies of the read routes: a view's rows as JSON or CSV, and the list
// of views. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "millrace/pg/declared_views.hpp"
#include "views.hpp"

namespace millrace::api {

// Rows as PostgreSQL printed them (NULL: nullopt), one value per column of
// the view, in its order; timestamps already in RFC 3339.
struct Rows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool truncated = false;  // more rows matched than the limit let through
  // A declared view not filled yet (docs/views.md, "Adding, changing or
  // removing a view"), as it stood when its rows were read: they lack some
  // of its kind's records.
  std::optional<pg::ViewFillState> fill;
};

// The reply header of a view not filled yet: its state (`unfilled`,
// `filling`).
inline constexpr std::string_view kViewFillHeader = "Millrace-View-Fill";

// {"view":NAME,"limit":N,"truncated":B,"rows":[{column: value, ...}]}, and
// for a view not filled yet "fill":{"state":S,"offsets_read":N,"offsets":N}
// after "truncated".
// Integers and decimals are JSON numbers with PostgreSQL's digits (never
// through a double: 12.30 stays 12.30), text and timestamps strings, NULL
// null.
std::string rows_json(const View& view, const Rows& rows, std::int64_t limit);
// RFC 4180: a header line of the column names, CRLF line ends, fields
// quoted when they hold a comma, a quote or a line break; NULL is empty.
std::string rows_csv(const View& view, const Rows& rows);
// {"views":[{"name","kind","description","path","windowed","columns":[{"name","type"}]}]}.
std::string views_json(const ServedViews& served);

}  // namespace millrace::api
