#include "visibility.hpp"

#include <algorithm>
#include <charconv>

#include "millrace/core/values.hpp"

namespace millrace::cache::detail {

namespace {

bool precedes(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b) < 0;
}

std::optional<std::uint32_t> xid_of(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return static_cast<std::uint32_t>(v);  // the epoch is not in a 32-bit xid
}

}  // namespace

std::optional<XidSnapshot> XidSnapshot::parse(std::string_view text) {
  const auto first = text.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = text.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  XidSnapshot s;
  const auto xmin = xid_of(text.substr(0, first));
  const auto xmax = xid_of(text.substr(first + 1, second - first - 1));
  if (!xmin || !xmax) return std::nullopt;
  s.xmin_ = *xmin;
  s.xmax_ = *xmax;
  for (const auto& item : core::split_list(text.substr(second + 1))) {
    const auto xid = xid_of(item);
    if (!xid) return std::nullopt;
    s.in_progress_.push_back(*xid);
  }
  return s;
}

bool XidSnapshot::saw(std::uint32_t xid) const {
  if (precedes(xid, xmin_)) return true;
  if (!precedes(xid, xmax_)) return false;
  return std::find(in_progress_.begin(), in_progress_.end(), xid) == in_progress_.end();
}

}  // namespace millrace::cache::detail
