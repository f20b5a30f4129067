#pragma once

// The framing of a logical replication connection once START_REPLICATION has
// switched it to CopyBoth: each CopyData from the server is XLogData or a
// primary keepalive, and the client answers with standby status updates.
// Layouts from PostgreSQL's "Streaming Replication Protocol" (55.4 in
// PostgreSQL 15). Pure: no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/changefeed/lsn.hpp"

namespace millrace::changefeed {

// 'w' | Int64 start of the data in WAL | Int64 end of WAL on the server |
// Int64 server clock (µs since 2000-01-01) | Byte[n] one pgoutput message
struct XLogData {
  Lsn wal_start = 0;
  Lsn wal_end = 0;
  std::int64_t server_time_pg_us = 0;
  std::string_view data;  // a view into the CopyData buffer
};

// 'k' | Int64 end of WAL on the server | Int64 server clock | Byte1 1 if the
// server asks for a status update now (it will otherwise drop the connection
// after wal_sender_timeout)
struct Keepalive {
  Lsn wal_end = 0;
  std::int64_t server_time_pg_us = 0;
  bool reply_requested = false;
};

using ServerMessage = std::variant<XLogData, Keepalive>;

// Throws DecodeError on anything else (or a truncated message).
ServerMessage parse_server_message(std::string_view copy_data);

// 'r' | Int64 last WAL byte + 1 received and written | Int64 ... flushed |
// Int64 ... applied | Int64 client clock (µs since 2000-01-01) | Byte1 1 to
// ask for an immediate reply.
// For a logical slot, `flushed` is what PostgreSQL may release: the slot's
// confirmed_flush_lsn moves to it, and WAL before it can be recycled.
std::string standby_status_update(Lsn written, Lsn flushed, Lsn applied,
                                  std::int64_t client_time_pg_us, bool reply_requested);

}  // namespace millrace::changefeed
