#pragma once

// COPY ... FROM STDIN in PostgreSQL's binary format, for tables whose every
// column has a fixed binary form (integers, uuids): the server takes each
// value as it is instead of parsing its text (uuid_in reads a uuid's 16
// bytes with 16 calls of strtoul), which was about a tenth of PostgreSQL's
// CPU for the aggregator's identities (docs/benchmarks.md, issue 80).

#include <cstdint>
#include <string>
#include <string_view>

#include "millrace/pg/copy.hpp"

namespace millrace::pg {

// Rows in the binary COPY format, field by field into one buffer.
class CopyBinary {
 public:
  // Starts a row; each row of a COPY has the same number of fields.
  CopyBinary& begin_row();
  CopyBinary& int4(std::int32_t value);
  CopyBinary& int8(std::int64_t value);
  // A uuid from its text: 32 hexadecimal digits, either case, with or
  // without the four dashes of the canonical form. Anything else throws
  // std::invalid_argument (the caller's contract: it holds uuids).
  CopyBinary& uuid(std::string_view text);
  CopyBinary& end_row();

  const std::string& data() const { return data_; }
  std::size_t size() const { return data_.size(); }
  void clear() { data_.clear(); }

  // What BasicCopyWriter asks of a format: the binary format's header (its
  // signature, flags and extension length), and its trailer.
  static constexpr bool kBinary = true;
  void begin_copy();
  void end_copy();

 private:
  void field(std::int32_t length);

  std::string data_;
  std::size_t row_start_ = 0;
  std::int16_t fields_ = 0;
};

using BinaryCopyWriter = BasicCopyWriter<CopyBinary>;

}  // namespace millrace::pg
