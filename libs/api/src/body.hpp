#pragma once

// The bodies of the admin writes: a JSON object with the catalog's columns,
// typed as proto/openapi.yaml says (strings, an integer sku, a number
// list_price, a boolean active), then held to the catalog's own rules
// (catalog::make_record, the rules `millrace catalog load` applies). Pure.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/catalog/records.hpp"

namespace millrace::api {

struct BodyError {
  int status = 422;   // 400: not JSON; 422: JSON that is not a valid record
  std::string field;  // the field at fault, empty when it is the body as a whole
  std::string detail;
};

// POST: `path_key` is nullopt and the body holds the key (name or sku).
// PUT: the key comes from the path and the body must not repeat it.
std::variant<catalog::Record, BodyError> parse_body(catalog::Table table, std::string_view body,
                                                    std::optional<std::string_view> path_key);

// POST /v1/session's body, {"token": "<read or admin token>"}: the token,
// or the BodyError (400 not JSON, 422 no string "token" or other fields).
std::variant<std::string, BodyError> parse_session_body(std::string_view body);

// The field a catalog::make_record message names: the first quoted word
// ("\"list_price\" must be ...", "unknown field \"colour\" ..."); empty if
// none.
std::string field_of(std::string_view message);

}  // namespace millrace::api
