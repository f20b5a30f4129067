#include "millrace/pg/copy.hpp"

#include <charconv>
#include <cstring>
#include <pqxx/pqxx>

#include "copy_stream.hpp"
#include "millrace/pg/copy_binary.hpp"

namespace millrace::pg {

namespace {

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

template <class Rows>
BasicCopyWriter<Rows>::BasicCopyWriter(pqxx::transaction_base& tx, const std::string& table,
                                       const std::vector<std::string>& columns)
    : stream_(std::make_unique<detail::CopyStream>(tx, table, columns,
                                                   Rows::kBinary
                                                       ? detail::CopyStream::Format::kBinary
                                                       : detail::CopyStream::Format::kText)) {
  buffer_.begin_copy();
}

template <class Rows>
BasicCopyWriter<Rows>::~BasicCopyWriter() = default;

template <class Rows>
void BasicCopyWriter<Rows>::end_row() {
  buffer_.end_row();
  if (buffer_.size() >= detail::kCopyChunkBytes) {
    stream_->send(buffer_.data());
    buffer_.clear();
  }
}

template <class Rows>
void BasicCopyWriter<Rows>::complete() {
  buffer_.end_copy();
  stream_->send(buffer_.data());
  buffer_.clear();
  stream_->finish();
}

template class BasicCopyWriter<CopyText>;
template class BasicCopyWriter<CopyBinary>;

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
