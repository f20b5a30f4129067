#pragma once

// What the orders' integration tests share: the sink's settings for the
// order kind, producing orders and storing them, and the accounting.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "pipeline.hpp"

namespace millrace::testing::orders {

// The personal data's key the tests give the sink (MILLRACE_PII_KEY).
inline constexpr std::string_view kPiiKey = "orders-test-key-0123456789";

// HMAC-SHA256 of `value` with kPiiKey, in hex: computed here with OpenSSL,
// not through the sink's code.
std::string hmac_hex(std::string_view value);

// The sink's or aggregator's settings for the order kind on `p`'s topic,
// its personal data handled as `pii` (MILLRACE_ORDERS_PII).
std::map<std::string, std::string> order_env(const Pipeline& p, std::string_view pii);

// `millrace produce --kind order` with `args` to `p`'s topic; returns its
// exit code, its output in `out`.
int produce_orders(const Pipeline& p, const std::vector<std::string>& args, std::string* out);

// Until the stored offsets of `group` (the sink's by default) reach the
// end of the topic.
bool wait_stored(Pipeline& p, std::chrono::seconds timeout, const std::string& group = {});

// Sends `lines` as an NDJSON file (millrace produce --kind order --file)
// and stores them with one sink run; returns produce's summary.
std::string produce_and_store(Pipeline& p, const std::vector<std::string>& lines,
                              std::string_view pii);

struct Accounting {
  std::int64_t consumed = 0, persisted = 0, rejected = 0, duplicate = 0, unaccounted = 0, late = 0;
};

// partition_accounting summed for `group` (the sink's by default).
Accounting accounting(const Pipeline& p, const std::string& group = {});

// The order generator of `seed`: `bad_ratio` of its orders bad, their
// times spread over the `spread_s` seconds before `base_time` (a timestamp's
// text). `d` must outlive it.
kinds::RecordGenerator order_generator(const kinds::Declaration& d, std::uint64_t seed,
                                       double bad_ratio, std::string_view base_time,
                                       std::int64_t spread_s = 0);

// Field `i` of a record's values, as JSON.
std::string field_of(const std::vector<kinds::Value>& values, std::size_t i);

}  // namespace millrace::testing::orders
