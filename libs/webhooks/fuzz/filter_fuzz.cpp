// libFuzzer target: an Event Grid filter as a user pastes it (filter.hpp),
// and an event's data it is matched against. The input is split at its
// first 0 byte into the filter's JSON and the data's. Beyond not crashing:
// a filter that parses prints a canonical form that parses back to an equal
// filter which matches the event alike.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "exact_json.hpp"
#include "filter.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  using millrace::webhooks::detail::Filter;
  using millrace::webhooks::detail::FilterEvent;
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const auto split = input.find('\0');
  const std::string_view filter_text = input.substr(0, split);
  const std::string data_text(split == std::string_view::npos ? "{}" : input.substr(split + 1));
  Filter filter;
  try {
    filter = Filter::parse(filter_text);
  } catch (const std::invalid_argument&) {
    return 0;  // refused, with a reason: what a bad filter gets
  }
  const auto canonical = filter.canonical_json();
  const Filter again = Filter::parse(canonical);
  check(again == filter);
  check(again.canonical_json() == canonical);
  rapidjson::Document data;
  const bool parsed = millrace::webhooks::detail::parse_exact(data, data_text);
  const FilterEvent event{"0000000001A2B3C4-00000002",   "/millrace/shop/public.sales",
                          "com.millrace.row.created",    "public.sales/42",
                          "2026-11-28T07:00:01.123456Z", parsed ? &data : nullptr};
  check(filter.matches(event) == again.matches(event));
  return 0;
}
