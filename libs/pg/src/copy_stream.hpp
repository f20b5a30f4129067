#pragma once

// COPY <table> (<columns>) FROM STDIN on a transaction's connection, through
// libpq itself: the one path under both formats' writers (copy.hpp,
// copy_binary.hpp). The caller sends whole chunks of rows, then finishes.

#include <libpq-fe.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace millrace::pg::detail {

// What a writer buffers before sending: the per-message cost amortised,
// without holding a batch's whole data in memory twice.
inline constexpr std::size_t kCopyChunkBytes = 64 * 1024;

class CopyStream {
 public:
  enum class Format { kText, kBinary };

  // Starts the COPY; `tx` must be a transaction (or subtransaction) with
  // nothing else running on its connection until finish().
  CopyStream(pqxx::transaction_base& tx, const std::string& table,
             const std::vector<std::string>& columns, Format format);
  // Unfinished (an exception in flight), ends the COPY as failed, leaving
  // the transaction to be rolled back by its owner. Never throws.
  ~CopyStream();
  CopyStream(const CopyStream&) = delete;
  CopyStream& operator=(const CopyStream&) = delete;

  void send(std::string_view bytes);
  // Ends the COPY; the server's refusal of any row surfaces here as the
  // libpqxx exception its SQLSTATE names (pqxx::unique_violation for a key
  // held already), a connection lost as pqxx::broken_connection.
  void finish();

 private:
  [[noreturn]] void fail(const std::string& message, const std::string& sqlstate);

  PGconn* conn_ = nullptr;
  std::string query_;
  bool open_ = false;
};

}  // namespace millrace::pg::detail
