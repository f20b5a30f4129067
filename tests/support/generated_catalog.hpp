#pragma once

// A pipeline's schema migrated and holding the generated catalog, for the
// tests that need the catalog's rows but do not test how it loads.

#include "pipeline.hpp"

namespace millrace::testing {

// `millrace migrate` on `p`'s schema, then `millrace generate --catalog`
// (its categories as CSV, its products as NDJSON, in p.log_dir) and
// `millrace catalog load` of both; REQUIREs (Catch2) each to succeed.
void migrate_with_generated_catalog(const Pipeline& p);

}  // namespace millrace::testing
