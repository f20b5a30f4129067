#include "isolation.hpp"

namespace millrace::stream::detail {

namespace {

void split(std::size_t begin, std::size_t end, DbError error, const TryRange& try_range,
           std::vector<std::pair<std::size_t, DbError>>& out) {
  if (end - begin == 1) {
    out.emplace_back(begin, std::move(error));
    return;
  }
  const std::size_t mid = begin + (end - begin) / 2;
  for (const auto& [b, e] : {std::pair{begin, mid}, std::pair{mid, end}}) {
    if (auto refused = try_range(b, e)) split(b, e, std::move(*refused), try_range, out);
  }
}

}  // namespace

std::vector<std::pair<std::size_t, DbError>> isolate_refused(std::size_t size, DbError whole,
                                                             const TryRange& try_range) {
  std::vector<std::pair<std::size_t, DbError>> out;
  if (size == 0) return out;
  split(0, size, std::move(whole), try_range, out);
  return out;
}

bool refuses_data(const std::string& sqlstate) {
  const std::string cls = sqlstate.substr(0, 2);
  return cls == "22" || cls == "23" || cls == "54";
}

}  // namespace millrace::stream::detail
