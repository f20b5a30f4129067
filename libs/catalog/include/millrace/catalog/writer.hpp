#pragma once

// Catalog records written out as `millrace catalog load` reads them: one
// NDJSON object per line, or CSV lines under columns()' header.

#include <string>

#include "millrace/catalog/records.hpp"

namespace millrace::catalog {

std::string to_ndjson(const Record& record);  // no newline
std::string csv_header(Table table);          // no newline
std::string to_csv(const Record& record);     // no newline

}  // namespace millrace::catalog
