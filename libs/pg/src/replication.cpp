#include "millrace/pg/replication.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>

#include "millrace/runtime/log.hpp"
#include "tls_read_buffer.hpp"

namespace millrace::pg {

using core::FailureClass;
using core::InfraError;

namespace {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

[[noreturn]] void fail_result(PGresult* result, PGconn* conn, const std::string& context) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string message =
      trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  const bool lost = PQstatus(conn) != CONNECTION_OK;
  const std::string_view sqlstate = state == nullptr ? "" : state;
  // 55006 (object_in_use): another session streams from the slot. It ends:
  // a feed still running stops, and the server process of a connection that
  // was cut ends at wal_sender_timeout. A feed restarted after a network cut
  // meets its own old session here (found by scripts/nemesis --seed 5).
  const std::string what =
      context + ": " + (message.empty() ? trimmed(PQerrorMessage(conn)) : message);
  if (sqlstate == "55006") throw SlotInUse(what);
  throw InfraError(lost ? FailureClass::kRetryable : classify_sqlstate(sqlstate), what);
}

// How long a cancelled command's answer is waited for.
constexpr std::chrono::seconds kCancelAnswer{10};

// A command's rows as text (nullopt for NULL), or its error thrown.
std::vector<ReplicationConnection::Row> rows_of(PGresult* r, PGconn* c, const std::string& sql) {
  const auto status = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail_result(r, c, sql);
  std::vector<ReplicationConnection::Row> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    ReplicationConnection::Row row;
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(r, i, j), static_cast<std::size_t>(PQgetlength(r, i, j))));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Asks the server to cancel the connection's running command (best effort:
// its answer, the command's error or its result, is read as usual).
void cancel(PGconn* c) {
  if (PGcancel* handle = PQgetCancel(c)) {
    char error[256];
    PQcancel(handle, error, sizeof error);
    PQfreeCancel(handle);
  }
}

}  // namespace

struct ReplicationConnection::Handle {
  std::unique_ptr<PGconn, ConnDeleter> conn;
  // The last message read() handed out, libpq's own buffer: freed at the
  // next read (declared after conn: freed before it).
  std::unique_ptr<char, decltype(&PQfreemem)> message{nullptr, &PQfreemem};
  bool streaming = false;
  // Under the stream's TLS (destroyed before the connection is closed).
  std::unique_ptr<TlsReadBuffer> tls;
};

ReplicationConnection::ReplicationConnection(const std::string& conninfo,
                                             std::string_view application_name,
                                             const SessionLimits& limits)
    : handle_(std::make_unique<Handle>()) {
  const std::string bounded = bounded_conninfo(conninfo, limits);
  const std::string app(application_name);
  // expand_dbname: the first "dbname" is the whole conninfo (URI or
  // key=value); the keywords after it override it.
  // pgoutput writes each column with the session's output settings, which a
  // database or role may change (ALTER DATABASE ... SET DateStyle): the
  // feed's readers of that text (changefeed/src/pg_text.hpp) need
  // PostgreSQL's defaults. Options the operator gave in the conninfo win.
  const bool own_options = conninfo.find("options=") != std::string::npos;
  std::string options;
  for (const auto& [name, value] : kDefaultTextOutput) {
    if (!options.empty()) options += ' ';
    options += "-c " + std::string(name) + "=";
    for (const char ch : value) {
      if (ch == ' ') options += '\\';  // libpq's options escape a space
      options += ch;
    }
  }
  const char* keys[] = {"dbname", "replication", "application_name",
                        own_options ? nullptr : "options", nullptr};
  const char* values[] = {bounded.c_str(), "database", app.c_str(), options.c_str(), nullptr};
  handle_->conn.reset(PQconnectdbParams(keys, values, 1));
  PGconn* c = handle_->conn.get();
  if (c == nullptr)
    throw InfraError(FailureClass::kRetryable, "postgresql replication: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string what = trimmed(PQerrorMessage(c));
    // As for ordinary connections: credentials and missing roles or
    // databases do not heal by retrying; a role without REPLICATION is
    // refused as "no pg_hba.conf entry for replication" or "must have
    // replication permission", which do not either.
    const bool permanent = what.find("authentication") != std::string::npos ||
                           what.find("password") != std::string::npos ||
                           what.find("does not exist") != std::string::npos ||
                           what.find("replication role") != std::string::npos ||
                           what.find("replication connection") != std::string::npos;
    throw InfraError(permanent ? FailureClass::kFatal : FailureClass::kRetryable,
                     "postgresql replication connect: " + what);
  }
}

ReplicationConnection::~ReplicationConnection() = default;

std::vector<ReplicationConnection::Row> ReplicationConnection::command(const std::string& sql) {
  PGconn* c = handle_->conn.get();
  ResultPtr r(PQexec(c, sql.c_str()));
  return rows_of(r.get(), c, sql);
}

std::vector<ReplicationConnection::Row> ReplicationConnection::command(
    const std::string& sql, std::chrono::milliseconds every,
    const std::function<void(std::chrono::milliseconds)>& waiting) {
  PGconn* c = handle_->conn.get();
  if (PQsendQuery(c, sql.c_str()) != 1) fail_result(nullptr, c, sql);
  const auto began = std::chrono::steady_clock::now();
  std::exception_ptr thrown;  // what `waiting` threw: the command is cancelled
  std::chrono::steady_clock::time_point cancelled;
  for (;;) {
    // Taken in before each wait, and again after one that timed out: what
    // TLS holds decoded but libpq has not read waits one `every` at most.
    if (PQconsumeInput(c) != 1) fail_result(nullptr, c, sql);
    if (PQisBusy(c) == 0) break;
    pollfd pfd{PQsocket(c), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(every.count()));
    if (ready < 0 && errno != EINTR) {
      throw InfraError(FailureClass::kRetryable, sql + ": poll: " + std::strerror(errno));
    }
    if (ready != 0) continue;
    const auto now = std::chrono::steady_clock::now();
    if (thrown) {
      // A cancel that does not arrive (a proxy between, a lost packet)
      // must not hold the caller: it goes, the connection left mid-command.
      if (now - cancelled > kCancelAnswer) {
        runtime::log_warn("postgresql", sql + ": the server did not answer its cancel within " +
                                            std::to_string(kCancelAnswer.count()) +
                                            " s; leaving the connection");
        std::rethrow_exception(thrown);
      }
      continue;
    }
    try {
      waiting(std::chrono::duration_cast<std::chrono::milliseconds>(now - began));
    } catch (...) {
      thrown = std::current_exception();
      cancelled = now;
      cancel(c);
    }
  }
  ResultPtr last;
  for (ResultPtr r(PQgetResult(c)); r != nullptr; r.reset(PQgetResult(c))) last = std::move(r);
  if (thrown) std::rethrow_exception(thrown);
  return rows_of(last.get(), c, sql);
}

std::uint64_t ReplicationConnection::for_each_row(const std::string& sql,
                                                  const std::function<void(Row&&)>& on_row) {
  PGconn* c = handle_->conn.get();
  if (PQsendQuery(c, sql.c_str()) != 1) fail_result(nullptr, c, sql);
  if (PQsetSingleRowMode(c) != 1) fail_result(nullptr, c, sql);
  std::uint64_t rows = 0;
  ResultPtr failed;           // the query's error, reported once drained
  std::exception_ptr thrown;  // what on_row threw
  for (ResultPtr r(PQgetResult(c)); r != nullptr; r.reset(PQgetResult(c))) {
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_SINGLE_TUPLE && !thrown && !failed) {
      Row row;
      row.reserve(static_cast<std::size_t>(PQnfields(r.get())));
      for (int j = 0; j < PQnfields(r.get()); ++j) {
        if (PQgetisnull(r.get(), 0, j)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(r.get(), 0, j),
                                       static_cast<std::size_t>(PQgetlength(r.get(), 0, j))));
        }
      }
      ++rows;
      try {
        on_row(std::move(row));
      } catch (...) {
        // Stop the server sending the rest; the results must still be read
        // to the end before the connection takes another command.
        thrown = std::current_exception();
        cancel(c);
      }
    } else if (status != PGRES_SINGLE_TUPLE && status != PGRES_TUPLES_OK && !failed) {
      failed = std::move(r);
    }
  }
  if (thrown) std::rethrow_exception(thrown);
  if (failed) fail_result(failed.get(), c, sql);
  return rows;
}

std::string ReplicationConnection::quote_identifier(std::string_view name) const {
  return escaped(name, &PQescapeIdentifier, "an identifier");
}

std::string ReplicationConnection::quote_literal(std::string_view text) const {
  return escaped(text, &PQescapeLiteral, "a literal");
}

std::string ReplicationConnection::escaped(std::string_view text,
                                           char* (*escape)(PGconn*, const char*, std::size_t),
                                           const char* what) const {
  PGconn* c = handle_->conn.get();
  char* quoted = escape(c, text.data(), text.size());
  if (quoted == nullptr) fail_result(nullptr, c, std::string("quoting ") + what);
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

void ReplicationConnection::start(const std::string& start_replication) {
  PGconn* c = handle_->conn.get();
  ResultPtr r(PQexec(c, start_replication.c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COPY_BOTH) {
    fail_result(r.get(), c, "START_REPLICATION");
  }
  handle_->streaming = true;
  // Reads never block: read() waits on the socket itself, bounded.
  PQsetnonblocking(c, 1);
  handle_->tls = std::make_unique<TlsReadBuffer>(c);
}

std::optional<std::string_view> ReplicationConnection::read(std::chrono::milliseconds timeout) {
  PGconn* c = handle_->conn.get();
  handle_->message.reset();
  // The clock is read only once it has to wait: catching up, nearly every
  // message is there already.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // The socket is asked at least once, even with a zero timeout: what has
  // arrived but libpq has not taken in yet is there to read.
  bool asked = false;
  // Catching up, the next message is nearly always in the socket already:
  // it is read once without a poll first, which saves a poll per message
  // (about a tenth of the change feed's CPU while it catches up, in a profile).
  bool read_without_poll = false;
  const auto take_in = [c] {
    if (PQconsumeInput(c) == 0) {
      throw InfraError(FailureClass::kRetryable,
                       "replication stream: " + trimmed(PQerrorMessage(c)));
    }
  };
  const TlsReadBuffer& tls = *handle_->tls;
  const auto take_in_buffered = [&] {
    for (std::size_t held = tls.unread(); held != 0; held = tls.unread()) {
      take_in();
      if (tls.unread() == held) return;
    }
  };
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(c, &buffer, 1);
    if (n > 0) {
      handle_->message.reset(buffer);
      return std::string_view(buffer, static_cast<std::size_t>(n));
    }
    if (n == -1) {
      // The server ended the COPY: its result says why, which may be in
      // the TLS buffer, where libpq's wait for it would not look.
      take_in_buffered();
      ResultPtr r(PQgetResult(c));
      const std::string why = r ? trimmed(PQresultErrorMessage(r.get())) : "";
      throw InfraError(FailureClass::kRetryable,
                       "replication stream ended by the server" + (why.empty() ? "" : ": " + why));
    }
    if (n == -2) {
      throw InfraError(FailureClass::kRetryable,
                       "replication stream: " + trimmed(PQerrorMessage(c)));
    }
    // Nothing whole in libpq's buffer: first what the TLS buffer holds (a
    // record taken in, or the start of one moved on to OpenSSL, changes
    // what it holds; a partial record left as it is waits for the socket)...
    if (const std::size_t held = tls.unread(); held != 0) {
      take_in();
      if (tls.unread() != held) continue;
    }
    // ...then what the socket holds (libpq's socket never blocks), and
    // only then wait for it.
    if (!read_without_poll) {
      read_without_poll = asked = true;
      take_in();
      continue;
    }
    // Rounded up: truncated, a wait of 1 ms would be 0 by the time it is
    // asked, and a caller waiting in short steps would spin.
    const auto now = std::chrono::steady_clock::now();
    if (!deadline) deadline = now + timeout;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now);
    if (left.count() <= 0 && asked) return std::nullopt;
    pollfd pfd{PQsocket(c), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready < 0 && errno != EINTR) {
      throw InfraError(FailureClass::kRetryable,
                       std::string("replication stream: poll: ") + std::strerror(errno));
    }
    if (ready > 0) take_in();
  }
}

void ReplicationConnection::write(std::string_view copy_data) {
  PGconn* c = handle_->conn.get();
  if (PQputCopyData(c, copy_data.data(), static_cast<int>(copy_data.size())) != 1) {
    throw InfraError(FailureClass::kRetryable,
                     "replication stream: sending: " + trimmed(PQerrorMessage(c)));
  }
  // Non-blocking: flush until libpq has handed everything to the socket.
  for (int rc = PQflush(c); rc != 0; rc = PQflush(c)) {
    if (rc < 0) {
      throw InfraError(FailureClass::kRetryable,
                       "replication stream: flushing: " + trimmed(PQerrorMessage(c)));
    }
    pollfd pfd{PQsocket(c), POLLOUT, 0};
    ::poll(&pfd, 1, 1000);
  }
}

int ReplicationConnection::backend_pid() const {
  return PQbackendPID(handle_->conn.get());
}

}  // namespace millrace::pg
