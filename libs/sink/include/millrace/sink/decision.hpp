#pragma once

#include <optional>
#include <string_view>
#include <variant>

#include "millrace/core/event.hpp"
#include "millrace/core/filter.hpp"
#include "millrace/core/validation.hpp"

namespace millrace::sink {

// What the sink decides for one message: pure, no I/O.
struct Kept {
  core::StoreEvent event;
};
struct Filtered {
  core::FilterReason reason;
};
struct Rejected {
  core::Rejection rejection;
};
using Decision = std::variant<Kept, Filtered, Rejected>;

Decision classify(std::string_view payload, std::optional<std::string_view> event_type_header,
                  const core::FilterConfig& filter);

}  // namespace millrace::sink
