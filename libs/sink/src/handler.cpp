#include "handler.hpp"

#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/schema_setup.hpp"

namespace millrace::sink::detail {

StoreEventSink::StoreEventSink(const SinkConfig& config, metrics::Registry& metrics,
                               cache::CatalogLookup* lookup)
    : declaration(kinds::find_kind(kinds::kStoreEvent, "")),
      codec(config.filter),
      rows(declaration, Identities::kTableKey, kinds::PiiMode::kKeep, "", config.stream.kafka.topic,
           metrics, lookup) {}

DeclaredSink::DeclaredSink(const SinkConfig& config, metrics::Registry& metrics,
                           cache::CatalogLookup* lookup)
    : config(config),
      codec(*config.kinds.declaration),
      rows(*config.kinds.declaration, Identities::kRegistry, kinds::pii_mode(config.kinds),
           config.kinds.pii_key, config.stream.kafka.topic, metrics, lookup) {}

void DeclaredSink::prepare(pqxx::connection& connection) {
  pg::prepare_kind_tables(connection, config.stream.pg.schema, codec.declaration(),
                          config.stream.migrate);
  rows.prepare(connection);
}

// A time past the partitions made ahead: a clock far off, most likely. It
// is dead-lettered (reason ts_out_of_window), not stored.
std::optional<core::Rejection> too_far_ahead(std::int64_t time_us, std::string_view field,
                                             std::chrono::seconds ahead) {
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (time_us <= now_us + std::chrono::duration_cast<std::chrono::microseconds>(ahead).count()) {
    return std::nullopt;
  }
  return core::Rejection{core::RejectReason::kOutOfRange, std::string(field),
                         std::string(field) + " " + core::format_timestamp(time_us) +
                             " is more than " + describe_span(ahead) +
                             " past this sink's clock (MILLRACE_STORE_AHEAD_DAYS): no partition "
                             "is made that far ahead"};
}

}  // namespace millrace::sink::detail
