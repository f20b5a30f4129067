#include "millrace/core/filter.hpp"

namespace millrace::core {

std::string_view reason_code(FilterReason reason) {
  switch (reason) {
    case FilterReason::kEventTypeNotKept:
      return "event_type_not_kept";
    case FilterReason::kDiscountNotAbove:
      return "discount_not_above_threshold";
  }
  return "unknown";
}

}  // namespace millrace::core
