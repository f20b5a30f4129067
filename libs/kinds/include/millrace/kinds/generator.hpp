#pragma once

// Synthetic records of a declared kind, for `millrace produce --kind`, the
// demo, the tests and the bench. Values follow each field's type, bounds
// and generate rule (declaration.hpp); the same seed gives the same
// records. A share of them can be made bad on purpose, each with the reason
// validation must give, so tests check the dead letters against the
// generator rather than against the validator.

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"

namespace millrace::kinds {

struct RecordGeneratorOptions {
  std::uint64_t seed = 42;
  double bad_ratio = 0.0;  // share of records that are bad, 0..1
  // Record times are spread uniformly over [base_ts - time_spread_us, base_ts].
  core::TimestampUs base_ts = 0;
  std::int64_t time_spread_us = 0;
};

struct GeneratedRecord {
  std::string payload;  // the JSON
  std::string key;      // the record's identity; empty if a bad record has none
  // Set for a bad record: the reason and field validation must report.
  std::optional<core::RejectReason> expected;
  std::string bad_field;
};

class RecordGenerator {
 public:
  // `declaration` must outlive the generator.
  RecordGenerator(const Declaration& declaration, RecordGeneratorOptions options);
  GeneratedRecord next();
  // Record times end here from the next record on (a clock to follow).
  void set_base_ts(core::TimestampUs ts) { options_.base_ts = ts; }

 private:
  const Declaration& d_;
  RecordGeneratorOptions options_;
  std::mt19937_64 rng_;
  std::uint64_t serial_ = 0;
};

}  // namespace millrace::kinds
