#pragma once

// One sink batch's state, whatever the kind: its kept rows (store events'
// or a declared kind's records, each with its Kafka record) and the
// tracker of its dead letters.

#include <cstdint>
#include <memory>
#include <vector>

#include "dead_letters.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::sink::detail {

// A kept record of any kind with the Kafka record it came from (for a dead
// letter of it, should PostgreSQL refuse it).
template <typename Record>
struct KeptRow : Consumed {
  Record record;
};

template <typename RowT>
struct RowsBatch final : stream::BatchState {
  std::vector<RowT> rows;
  TrackerRef letters = std::make_shared<LetterTracker>();

  void discard(std::int32_t partition) override {
    std::erase_if(rows, [&](const RowT& row) { return row.partition == partition; });
  }
  std::size_t size() const override { return rows.size(); }
  stream::RecordRef record(std::size_t i) const override {
    return {rows[i].partition, rows[i].offset};
  }
  // A slice shares the batch's letters: they are one batch's to make durable.
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<RowsBatch>();
    out->rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                     rows.begin() + static_cast<std::ptrdiff_t>(end));
    out->letters = letters;
    return out;
  }
};

}  // namespace millrace::sink::detail
