#include "millrace/core/store_message.hpp"

#include <charconv>

#include "millrace/core/event.hpp"

namespace millrace::core {

EventHeaders::EventHeaders(std::optional<std::string_view> event_type, bool priority_shipping) {
  if (event_type) headers_[size_++] = {kHeaderEventType, *event_type};
  headers_[size_++] = {kHeaderPriorityShipping, priority_shipping ? "true" : "false"};
}

StoreKey::StoreKey(std::int32_t store_id) {
  const auto result = std::to_chars(text_.data(), text_.data() + text_.size(), store_id);
  size_ = static_cast<std::size_t>(result.ptr - text_.data());
}

}  // namespace millrace::core
