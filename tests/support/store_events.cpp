#include "store_events.hpp"

#include <variant>

#include "millrace/kinds/registry.hpp"
#include "millrace/reference/validation.hpp"

namespace millrace::testing {

kinds::RecordGenerator store_event_generator(const kinds::RecordGeneratorOptions& options) {
  static const kinds::Declaration declaration = kinds::find_kind(kinds::kStoreEvent, "");
  return kinds::RecordGenerator(declaration, options);
}

std::optional<core::StoreEvent> valid_store_event(std::string_view json) {
  core::StoreEvent event;
  if (core::parse_event_into(json, std::nullopt, event)) return std::nullopt;
  return event;
}

std::string without_event_type(std::string json) {
  // The generator writes the declaration's fields in order, event_type last.
  const auto at = json.find(",\"event_type\":");
  if (at == std::string::npos) return json;
  const auto end = json.find_first_of(",}", json.find('"', json.find('"', at + 14) + 1));
  json.erase(at, end - at);
  return json;
}

}  // namespace millrace::testing
