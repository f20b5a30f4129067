#pragma once

// `millrace produce --kind <declared kind>`: synthetic records from the
// kind's generator, or the lines of a file, each keyed by its identity so
// that a record's resends land in one partition (and invalid lines by
// their bytes: validation downstream dead-letters them).

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <string_view>

#include "millrace/produce/produce.hpp"

namespace millrace::produce::detail {

// Sends one record: its payload to `partition`, keyed `key`.
using SendRecord =
    std::function<void(std::string_view payload, std::int32_t partition, std::string_view key)>;

// Produces config.count records, or the lines of `input`, through `send`,
// calling `pace(sent)` before each; counts them in `summary`.
void produce_records(const ProduceConfig& config, std::istream* input, std::int32_t partitions,
                     const std::atomic<bool>& stop, const std::function<void(std::uint64_t)>& pace,
                     const SendRecord& send, ProduceSummary& summary);

}  // namespace millrace::produce::detail
