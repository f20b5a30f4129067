#include "millrace/pg/xid_snapshot.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

#include "millrace/core/values.hpp"

namespace millrace::pg {

namespace {

std::uint32_t xid32(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw std::invalid_argument("not a transaction id: \"" + std::string(text) + "\"");
  }
  return static_cast<std::uint32_t>(v);  // the epoch dropped, as pgoutput's xids are
}

}  // namespace

XidSnapshot XidSnapshot::parse(std::string_view text) {
  const auto first = text.find(':');
  const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    throw std::invalid_argument("not a snapshot: \"" + std::string(text) + "\"");
  }
  XidSnapshot s;
  s.xmin = xid32(text.substr(0, first));
  s.xmax = xid32(text.substr(first + 1, second - first - 1));
  for (const auto& xid : core::split_list(text.substr(second + 1))) {
    s.in_progress.push_back(xid32(xid));
  }
  return s;
}

bool XidSnapshot::saw(std::uint32_t xid) const {
  if (!xid_precedes(xid, xmax)) return false;
  return std::find(in_progress.begin(), in_progress.end(), xid) == in_progress.end();
}

}  // namespace millrace::pg
