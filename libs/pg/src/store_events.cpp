#include "millrace/pg/store_events.hpp"

#include "millrace/core/contract.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::pg {

const std::vector<std::string> kStoreEventColumns = [] {
  std::vector<std::string> columns;
  for (const auto& f : core::kStoreEventFields) columns.emplace_back(f.name);
  for (const char* source : {"kafka_topic", "kafka_partition", "kafka_offset"}) {
    columns.emplace_back(source);
  }
  return columns;
}();

void append_store_event(CopyText& row, const core::StoreEvent& e, std::string_view topic,
                        std::int32_t partition, std::int64_t offset) {
  // Fields in the declaration's order (COPY names the columns), each
  // written by its type.
  for (int i = 0; i < core::kFieldCount; ++i) {
    const auto f = static_cast<core::Field>(i);
    if (core::spec(f).type == core::FieldType::kTimestamp) {
      row.text(core::format_timestamp(core::member_of<core::TimestampUs>(e, core::spec(f))));
      continue;
    }
    core::visit_field(e, f,
                      core::Overloaded{[&](const std::string& v) { row.text(v); },
                                       [&](std::int32_t v) { row.integer(v); },
                                       [&](std::int64_t v) { row.integer(v); },
                                       [&](const core::Decimal& v) { row.text(v.to_string()); },
                                       [&](bool v) { row.boolean(v); },
                                       [&](const std::optional<std::string>& v) {
                                         if (v) {
                                           row.text(*v);
                                         } else {
                                           row.null();
                                         }
                                       },
                                       [&](core::EventType v) { row.text(core::to_string(v)); }});
  }
  row.text(topic).integer(partition).integer(offset);
}

const std::vector<std::string> kEnrichmentColumns = {"product_name", "product_brand",
                                                     "product_category"};

void append_enrichment(CopyText& row, const std::optional<std::string>& name,
                       const std::optional<std::string>& brand,
                       const std::optional<std::string>& category) {
  for (const auto* v : {&name, &brand, &category}) {
    if (*v) {
      row.text(**v);
    } else {
      row.null();
    }
  }
}

}  // namespace millrace::pg
