#pragma once

// A PostgreSQL logical replication connection (replication=database) on
// libpq directly: libpqxx does not speak the CopyBoth sub-protocol that
// START_REPLICATION switches to. The libpq handle stays private.
//
// Caller contract: one thread uses a connection. Before start(), command()
// runs replication commands (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT) and
// plain SQL. After start(), only read() and write() are allowed; the
// connection cannot leave streaming mode (make a new one to resume).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::pg {

// The settings under which PostgreSQL writes a column's value as text as it
// does by default, whatever a database or role sets (ALTER DATABASE ... SET
// DateStyle): a replication connection streams pgoutput's text under them,
// and a reader of rows for the change feed selects under them, so one
// reader of that text (changefeed's pg_text.hpp) serves both.
struct OutputSetting {
  std::string_view name;
  std::string_view value;
};
inline constexpr OutputSetting kDefaultTextOutput[] = {
    {"DateStyle", "ISO, MDY"},   {"IntervalStyle", "postgres"}, {"bytea_output", "hex"},
    {"extra_float_digits", "1"}, {"lc_monetary", "C"},
};

// Another session streams from the slot a command names (SQLSTATE 55006):
// retryable, since that session ends (a feed that stops; a connection that
// was cut, at the server's wal_sender_timeout).
class SlotInUse : public core::InfraError {
 public:
  explicit SlotInUse(const std::string& what)
      : core::InfraError(core::FailureClass::kRetryable, what) {}
};

class ReplicationConnection {
 public:
  using Row = std::vector<std::optional<std::string>>;

  // Connects with replication=database added to `conninfo`, and the session
  // bounds of `limits` that libpq applies (connect timeout, keepalives,
  // tcp_user_timeout). Throws core::InfraError: retryable when the server
  // is unreachable or starting up, fatal for bad credentials or a role
  // without the REPLICATION attribute.
  ReplicationConnection(const std::string& conninfo, std::string_view application_name,
                        const SessionLimits& limits = {});
  ~ReplicationConnection();
  ReplicationConnection(const ReplicationConnection&) = delete;
  ReplicationConnection& operator=(const ReplicationConnection&) = delete;

  // Runs one command and returns its rows as text (nullopt for NULL).
  // Throws core::InfraError classified by SQLSTATE (SlotInUse for 55006).
  std::vector<Row> command(const std::string& sql);
  // The same, for a command the server may hold for long
  // (CREATE_REPLICATION_SLOT waits for every transaction open in the
  // cluster to end): `waiting` is called with the time waited each time
  // `every` passes without the answer. What it throws cancels the command
  // at the server (a query cancel) and is rethrown once the server has
  // answered, so the connection is left idle; or, when no answer came 10 s
  // after the cancel, rethrown anyway, the connection left mid-command
  // (make a new one).
  std::vector<Row> command(const std::string& sql, std::chrono::milliseconds every,
                           const std::function<void(std::chrono::milliseconds)>& waiting);

  // Runs one query and hands each row to `on_row` as it arrives (libpq's
  // single-row mode), so a table of any size is read in bounded memory.
  // Returns the number of rows. Throws core::InfraError classified by
  // SQLSTATE, and what `on_row` throws (the rest of the result is then
  // drained and dropped).
  std::uint64_t for_each_row(const std::string& sql, const std::function<void(Row&&)>& on_row);

  // An identifier or a string literal quoted for this server (libpq's
  // PQescapeIdentifier / PQescapeLiteral), for names read from the catalog.
  std::string quote_identifier(std::string_view name) const;
  std::string quote_literal(std::string_view text) const;

  // Sends a START_REPLICATION command; on return the server streams.
  void start(const std::string& start_replication);

  // The next CopyData message from the server, or nullopt when none came
  // within `timeout`: a view of libpq's buffer, valid until the next read
  // or the connection's end (not copied: the change feed reads millions).
  // Throws core::InfraError (retryable) when the connection breaks or the
  // server ends the stream, with its message.
  std::optional<std::string_view> read(std::chrono::milliseconds timeout);

  // Sends one CopyData message (a standby status update) and flushes it.
  void write(std::string_view copy_data);

  // The server's process id for this connection (pg_stat_replication.pid).
  int backend_pid() const;

 private:
  std::string escaped(std::string_view text,
                      char* (*escape)(struct pg_conn*, const char*, std::size_t),
                      const char* what) const;
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

}  // namespace millrace::pg
