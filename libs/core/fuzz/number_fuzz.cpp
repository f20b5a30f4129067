// libFuzzer target: the decimal and timestamp parsers, each input read as
// both. Beyond not crashing: what parses prints as text that parses back to
// the same value (Decimal::to_string, format_timestamp), and a timestamp
// lies within the years the parser promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/timestamp.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// 1970-01-01 and 10000-01-01 in µs: the parser's range after the offset.
constexpr std::int64_t kMinUs = 0;
constexpr std::int64_t kEndUs = 253402300800LL * 1'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto d = millrace::core::Decimal::parse(text)) {
    const auto again = millrace::core::Decimal::parse(d->to_string());
    check(again && *again == *d);
  }
  if (const auto ts = millrace::core::parse_timestamp(text)) {
    check(*ts >= kMinUs && *ts < kEndUs);
    const auto again = millrace::core::parse_timestamp(millrace::core::format_timestamp(*ts));
    check(again && *again == *ts);
  }
  return 0;
}
