// The validator's entry points. The work is in parts, in the order a message
// meets them: validation_reader (UTF-8, then one SAX parse keeping the known
// members), validation_checker (each field against the contract, in contract
// order), validation_detail (the rejection's text). The public codes are core's
// (core/rejection.hpp), and so is the producer's lighter scan
// (core/store_message.hpp: routing_hint).
#include "millrace/reference/validation.hpp"

#include "validation_checker.hpp"
#include "validation_detail.hpp"
#include "validation_reader.hpp"

namespace millrace::core {

std::variant<StoreEvent, Rejection> parse_event(std::string_view payload,
                                                std::optional<std::string_view> event_type_header) {
  const detail::ParsedBody* body = nullptr;
  if (auto syntax_error = detail::read_body(payload, body)) {
    return detail::reject(RejectReason::kInvalidJson, std::move(*syntax_error));
  }
  StoreEvent event;
  if (auto rejection = detail::validate_parsed(*body, event_type_header, event)) {
    return std::move(*rejection);
  }
  return event;
}

std::optional<Rejection> parse_event_into(std::string_view payload,
                                          std::optional<std::string_view> fallback_event_type,
                                          StoreEvent& event) {
  const detail::ParsedBody* body = nullptr;
  if (auto syntax_error = detail::read_body(payload, body)) {
    return detail::reject(RejectReason::kInvalidJson, std::move(*syntax_error));
  }
  // The body's own field wins; passing it as the header makes the field check
  // compare it with itself, so only its type is still checked. A repeated
  // field is left to that check, which reports it.
  const detail::Slot& field = body->slots[kEventType];
  if (field.kind == detail::Kind::kString && !field.duplicate) {
    return detail::validate_parsed(*body, field.text, event);
  }
  return detail::validate_parsed(*body, fallback_event_type, event);
}

}  // namespace millrace::core
