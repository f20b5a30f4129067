#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/event.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::pg {

// The columns of store_events (migrations/0001_store_events.sql) in the order
// append_store_event writes them; ingested_at takes its default.
extern const std::vector<std::string> kStoreEventColumns;

// The fields of one store_events row for COPY (the caller ends the row): the
// event and where it was read from. The
// sink writes its rows with it, and `millrace generate --format copy` the
// benchmark's reference file, so both encode a row alike.
void append_store_event(CopyText& row, const core::StoreEvent& e, std::string_view topic,
                        std::int32_t partition, std::int64_t offset);

// The enrichment's columns (migrations/0007_enrichment.sql), written after
// kStoreEventColumns by a sink that enriches: the product's name, brand and
// category from the catalog. Each nullopt is a NULL.
extern const std::vector<std::string> kEnrichmentColumns;
void append_enrichment(CopyText& row, const std::optional<std::string>& name,
                       const std::optional<std::string>& brand,
                       const std::optional<std::string>& category);

}  // namespace millrace::pg
