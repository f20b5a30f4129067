#pragma once

// A declared kind of the tests' own, flat (no lines), with an aggregate
// section: its views are parcels_hourly, _daily, _this_hour and _today,
// counting `parcels` and summing `kilograms`.

#include "millrace/kinds/declaration.hpp"

namespace millrace::api::testing {

inline kinds::Declaration parcel_kind() {
  return kinds::parse_declaration(R"({
    "kind": "parcel", "description": "a parcel",
    "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
    "table": "parcels", "identity": "Id", "time": "At",
    "fields": [{"name": "Id", "column": "id", "type": "text", "required": true, "min_bytes": 1},
               {"name": "At", "column": "at", "type": "timestamp", "required": true},
               {"name": "Kg", "column": "kg", "type": "decimal", "required": true,
                "min": 0, "max": 100}],
    "aggregate": {"name": "parcels", "records_as": "parcels", "amount": "Kg",
                  "amount_as": "kilograms"}})",
                                  "test");
}

}  // namespace millrace::api::testing
