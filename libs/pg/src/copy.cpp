#include "millrace/pg/copy.hpp"

#include <charconv>
#include <cstring>
#include <pqxx/pqxx>

// pqxx::tablewriter is deprecated in libpqxx 6.4 in favour of stream_to, but
// it is the only COPY writer there that takes a prepared line: stream_to's
// write_raw_line is private. Only its write_raw_line is used, never its own
// escaping (which is unreliable with multi-byte encodings).
#include <pqxx/tablewriter>

namespace millrace::pg {

namespace {

// A chunk this size amortises the per-message cost without holding a batch's
// whole text in memory twice.
constexpr std::size_t kChunkBytes = 64 * 1024;

char escape_of(char c) {
  switch (c) {
    case '\\':
      return '\\';
    case '\t':
      return 't';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    default:
      return 0;
  }
}

}  // namespace

void CopyText::separate() {
  if (fields_++ > 0) data_ += '\t';
}

CopyText& CopyText::text(std::string_view value) {
  separate();
  // Clean runs are appended whole; most fields have nothing to escape.
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char e = escape_of(value[i]);
    if (e == 0) continue;
    data_.append(value.data() + start, i - start);
    data_ += '\\';
    data_ += e;
    start = i + 1;
  }
  data_.append(value.data() + start, value.size() - start);
  return *this;
}

CopyText& CopyText::verbatim(std::string_view value) {
  separate();
  data_.append(value);
  return *this;
}

CopyText& CopyText::integer(std::int64_t value) {
  separate();
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  data_.append(buf, end);
  return *this;
}

CopyText& CopyText::boolean(bool value) {
  separate();
  data_ += value ? 't' : 'f';
  return *this;
}

CopyText& CopyText::null() {
  separate();
  data_ += "\\N";
  return *this;
}

CopyText& CopyText::end_row() {
  data_ += '\n';
  fields_ = 0;
  return *this;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
CopyWriter::CopyWriter(pqxx::transaction_base& tx, const std::string& table,
                       const std::vector<std::string>& columns)
    : conn_(&tx.conn()),
      writer_(std::make_unique<pqxx::tablewriter>(tx, table, columns.begin(), columns.end())) {}
#pragma GCC diagnostic pop

// Unfinished (an exception in flight), the tablewriter's destructor ends the
// COPY and leaves any error with the transaction, which is being abandoned.
CopyWriter::~CopyWriter() = default;

void CopyWriter::end_row() {
  buffer_.end_row();
  if (buffer_.size() >= kChunkBytes) send();
}

void CopyWriter::send() {
  if (buffer_.size() == 0) return;
  // write_raw_line drops one trailing newline and the connection adds it
  // back; the chunk's other newlines end its other rows.
  guarded([&] { writer_->write_raw_line(buffer_.data()); });
  buffer_.clear();
}

void CopyWriter::complete() {
  send();
  guarded([&] { writer_->complete(); });
}

void CopyWriter::guarded(const std::function<void()>& step) {
  try {
    step();
  } catch (const pqxx::sql_error&) {
    throw;  // the server refused the data: its SQLSTATE classifies it
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::failure& e) {
    // libpqxx reports a COPY line (or end) it could not send as a plain
    // failure even when the server is gone, which would classify as fatal.
    // A connection no longer open is a lost connection: retryable.
    if (!conn_->is_open()) throw pqxx::broken_connection(e.what());
    throw;
  }
}

void OptimisticCopy::write(pqxx::dbtransaction& tx, const std::string& savepoint,
                           const std::function<void(pqxx::transaction_base&)>& direct,
                           const std::function<std::uint64_t()>& resolve) {
  if (!expect_duplicates_) {
    try {
      pqxx::subtransaction sub(tx, savepoint);
      direct(sub);
      sub.commit();
      return;
    } catch (const pqxx::unique_violation&) {
      // The savepoint is rolled back; the slow path below decides.
    }
  }
  expect_duplicates_ = resolve() > 0;
}

}  // namespace millrace::pg
