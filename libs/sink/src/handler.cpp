#include "handler.hpp"

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/schema_setup.hpp"

namespace millrace::sink::detail {

kinds::Declaration store_event_declaration(const core::FilterConfig& filter) {
  auto d = kinds::find_kind(kinds::kStoreEvent, "");
  // The declaration's rule has this shape (kinds::store_event_keep checks
  // it when the sink's settings default to it).
  for (auto& c : d.keep) {
    const auto& field = d.fields[c.field].name;
    if (field == "discount") {
      c.decimal = filter.min_discount_exclusive;
    } else if (field == "event_type") {
      c.values.clear();
      if (filter.keep_sale) c.values.emplace_back(core::kSaleEvent);
      if (filter.keep_inventory) c.values.emplace_back(core::kInventoryEvent);
    }
  }
  return d;
}

DeclaredSink::DeclaredSink(const SinkConfig& config, metrics::Registry& metrics,
                           cache::CatalogLookup* lookup)
    : config(config),
      store_event(config.kinds.declaration
                      ? std::nullopt
                      : std::optional<kinds::Declaration>(store_event_declaration(config.filter))),
      declaration(config.kinds.declaration ? *config.kinds.declaration : *store_event),
      codec(declaration),
      rows(declaration,
           declaration.resends == kinds::Resends::kTableKey ? Identities::kTableKey
                                                            : Identities::kRegistry,
           config.kinds.declaration ? kinds::pii_mode(config.kinds) : kinds::PiiMode::kKeep,
           config.kinds.declaration ? config.kinds.pii_key : std::string(),
           config.stream.kafka.topic, metrics, lookup) {}

void DeclaredSink::prepare(pqxx::connection& connection) {
  // A kind told by its table's key has the migrations' table.
  if (declaration.resends == kinds::Resends::kRegistry) {
    pg::prepare_kind_tables(connection, config.stream.pg.schema, declaration,
                            config.stream.migrate);
  }
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
