#include "millrace/sink/decision.hpp"

#include <utility>

namespace millrace::sink {

Decision classify(std::string_view payload, std::optional<std::string_view> event_type_header,
                  const core::FilterConfig& filter) {
  auto parsed = core::parse_event(payload, event_type_header);
  if (auto* rejection = std::get_if<core::Rejection>(&parsed)) {
    return Rejected{std::move(*rejection)};
  }
  auto& event = std::get<core::StoreEvent>(parsed);
  if (const auto reason = core::apply_filter(event, filter)) return Filtered{*reason};
  return Kept{std::move(event)};
}

}  // namespace millrace::sink
