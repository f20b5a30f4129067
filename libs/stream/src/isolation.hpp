#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace millrace::stream::detail {

// Why the database refused a range of records.
struct DbError {
  std::string sqlstate;
  std::string message;
};

// Writes records [begin, end) of a batch, keeping what it wrote; returns
// nullopt, or the refusal when the database refused the range (then nothing
// of the range stays written).
using TryRange = std::function<std::optional<DbError>(std::size_t begin, std::size_t end)>;

// Finds the records the database refuses in a batch of `size` records that
// it refused as a whole with `whole`: halves are written in order, and a
// refused half is split again, down to single records. What succeeds stays
// written, so a record is judged after every record before it, the order
// write() would have seen them in. Returns each refused position with the
// database's reason, in order. Costs about 2·k·log2(size) writes for k
// refused records; k = 0 is impossible (the whole was refused), and a
// refusal no single record explains (it needs the records after it) is
// pinned on the record that completed it.
std::vector<std::pair<std::size_t, DbError>> isolate_refused(std::size_t size, DbError whole,
                                                             const TryRange& try_range);

// SQLSTATE classes that mean "this data can never be stored": 22 data
// exception, 23 integrity violation, 54 program limit exceeded (an index
// row too large, too many columns).
bool refuses_data(const std::string& sqlstate);

}  // namespace millrace::stream::detail
