#include "records.hpp"

#include <chrono>
#include <string>

#include "millrace/core/partitioner.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::produce::detail {

namespace {

std::int32_t partition_of(std::string_view key, std::int32_t partitions) {
  return core::partition_for_bytes(key.data(), key.size(), partitions);
}

}  // namespace

void produce_records(const ProduceConfig& config, std::istream* input, std::int32_t partitions,
                     const std::atomic<bool>& stop, const std::function<void(std::uint64_t)>& pace,
                     const SendRecord& send, ProduceSummary& s) {
  const auto& d = *config.kinds.declaration;
  if (config.count > 0) {
    kinds::RecordGeneratorOptions g;
    s.seed = resolved_seed(config);
    g.seed = s.seed;
    g.bad_ratio = config.bad_ratio;
    g.time_spread_us = config.time_spread_s * 1'000'000;
    const auto now_us = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    g.base_ts = config.base_ts.value_or(now_us());
    kinds::RecordGenerator generator(d, g);
    for (std::int64_t i = 0; i < config.count && !stop; ++i) {
      pace(s.total);
      // Record times follow the clock, unless a base time fixes them.
      if (!config.base_ts) generator.set_base_ts(now_us());
      const auto r = generator.next();
      const std::string_view key = r.key.empty() ? std::string_view(r.payload) : r.key;
      send(r.payload, partition_of(key, partitions), r.key);
      r.expected ? ++s.bad : ++s.valid;
    }
    return;
  }
  std::string line;
  while (!stop && std::getline(*input, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    pace(s.total);
    const auto parsed = kinds::parse_record(d, line);
    if (const auto* record = std::get_if<kinds::Record>(&parsed)) {
      const auto& key = record->identity(d);
      send(line, partition_of(key, partitions), key);
      ++s.valid;
    } else {
      send(line, partition_of(line, partitions), {});
      ++s.bad;
    }
  }
}

}  // namespace millrace::produce::detail
