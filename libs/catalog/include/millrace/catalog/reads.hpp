#pragma once

// The catalog as millrace-api reads it: a port with two implementations, the
// database (libs/api) and the cache in front of it (libs/cache), which wraps
// the first. Bodies are catalog/json.hpp's. Caller contract: an object is
// used by one thread at a time; each API worker owns its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::catalog {

class Reads {
 public:
  virtual ~Reads() = default;
  // The category's JSON, nullopt when there is none. Throws
  // core::InfraError when the truth cannot be read.
  virtual std::optional<std::string> category(std::string_view name) = 0;
  // category_list_json() of every category, ordered by name.
  virtual std::string categories() = 0;
  virtual std::optional<std::string> product(std::int64_t sku) = 0;

 protected:
  Reads() = default;
  Reads(const Reads&) = default;
  Reads& operator=(const Reads&) = default;
};

// An answer this process holds in its own memory: the body Reads would
// return, nullopt for a row that does not exist.
struct HeldBody {
  std::optional<std::string> body;
};

// What this process holds of the catalog in memory (millrace-api's near
// cache, libs/cache/near.hpp): the answer at once, without any I/O, or
// nothing, and then Reads has it. Caller contract: thread-safe and never
// waits for I/O (at most for a lock the holder's own updates take), so an
// event loop may ask.
class Held {
 public:
  virtual ~Held() = default;
  virtual std::optional<HeldBody> category(std::string_view name) const = 0;
  // Held only with a body: the list always exists.
  virtual std::optional<std::string> categories() const = 0;
  virtual std::optional<HeldBody> product(std::int64_t sku) const = 0;

 protected:
  Held() = default;
  Held(const Held&) = default;
  Held& operator=(const Held&) = default;
};

}  // namespace millrace::catalog
