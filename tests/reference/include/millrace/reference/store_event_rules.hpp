#pragma once

// core's filter and windows applied to a compiled StoreEvent: what the tests'
// oracle expects a stored event to count for, and whether the sink keeps it.

#include <optional>

#include "millrace/core/filter.hpp"
#include "millrace/core/window.hpp"
#include "millrace/reference/store_event.hpp"
#include "millrace/reference/store_totals.hpp"

namespace millrace::core {

// The fields core's windows fold (a view: `event` must outlive it).
Sale sale_of(const StoreEvent& event);
inline Totals event_totals(const StoreEvent& event) {
  return event_totals(sale_of(event));
}

// nullopt means keep. Discount must be strictly greater than the threshold.
std::optional<FilterReason> apply_filter(const StoreEvent& event, const FilterConfig& config);

}  // namespace millrace::core
