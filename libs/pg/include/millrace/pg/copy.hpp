#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class dbtransaction;
class transaction_base;
}  // namespace pqxx

namespace millrace::pg {

// Rows in PostgreSQL's text COPY format, appended field by field into one
// buffer. libpqxx's stream_to converts every field to a string of its own,
// escapes it byte by byte and sends each row as a message, work that was a
// large share of the sinks' CPU (docs/benchmarks.md, "What the measurements
// decided").
class CopyText {
 public:
  // Backslash, tab, newline and carriage return are escaped; every other
  // byte goes as it is (events are valid UTF-8, whose multi-byte sequences
  // never contain these bytes).
  CopyText& text(std::string_view value);
  CopyText& integer(std::int64_t value);
  CopyText& boolean(bool value);
  CopyText& null();
  // Ends the row: its newline. A row needs at least one field.
  CopyText& end_row();

  const std::string& data() const { return data_; }
  std::size_t size() const { return data_.size(); }
  void clear() {
    data_.clear();
    fields_ = 0;
  }

  // What BasicCopyWriter asks of a format: text has no header or trailer.
  static constexpr bool kBinary = false;
  void begin_copy() {}
  void end_copy() {}

 private:
  void separate();

  std::string data_;
  std::size_t fields_ = 0;  // in the open row
};

namespace detail {
class CopyStream;
}  // namespace detail

// COPY <table> (<columns>) FROM STDIN within a transaction, in the format of
// `Rows` (CopyText, or CopyBinary of copy_binary.hpp), sent in chunks of
// many rows. A failure (a unique violation, say) surfaces as the libpqxx
// exception its SQLSTATE names, from end_row() or complete(); a connection
// lost meanwhile as pqxx::broken_connection (retryable by pg::classify).
// Destroyed before complete(), it ends the COPY as failed, leaving the
// transaction to be rolled back. No other statement may run on the
// transaction meanwhile.
template <class Rows>
class BasicCopyWriter {
 public:
  BasicCopyWriter(pqxx::transaction_base& tx, const std::string& table,
                  const std::vector<std::string>& columns);
  ~BasicCopyWriter();
  BasicCopyWriter(const BasicCopyWriter&) = delete;
  BasicCopyWriter& operator=(const BasicCopyWriter&) = delete;

  // The buffer to append the next row to, then end_row().
  Rows& row() { return buffer_; }
  void end_row();
  // Sends what is buffered and ends the COPY.
  void complete();

 private:
  std::unique_ptr<detail::CopyStream> stream_;
  Rows buffer_;
};

using CopyWriter = BasicCopyWriter<CopyText>;

// Writes batches whose keys are almost always new. The batch is COPYed
// straight into its table inside a savepoint; a key stored already fails that
// COPY as a whole, the savepoint is rolled back, and the caller's slower path
// resolves the conflicts. INSERT ... ON CONFLICT on every batch would cost
// PostgreSQL a conflict check per row, and a staging table a second write.
// A batch that met stored keys sends the next one straight to the slow path:
// where duplicates keep coming (clients retrying), the direct COPY would fail
// part-way through every batch and pay for those rows twice. One per writer,
// used from one thread.
class OptimisticCopy {
 public:
  // `direct` COPYs the batch within the transaction it is given; `resolve`
  // writes it with conflicts handled and returns how many keys were stored.
  void write(pqxx::dbtransaction& tx, const std::string& savepoint,
             const std::function<void(pqxx::transaction_base&)>& direct,
             const std::function<std::uint64_t()>& resolve);

 private:
  bool expect_duplicates_ = false;
};

}  // namespace millrace::pg
