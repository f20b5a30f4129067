#include "millrace/changefeed/walstream.hpp"

#include "millrace/changefeed/pgoutput.hpp"
#include "wire.hpp"

namespace millrace::changefeed {

ServerMessage parse_server_message(std::string_view copy_data) {
  wire::Reader in(copy_data, "replication message");
  const char type = in.byte();
  if (type == 'w') {
    XLogData x;
    x.wal_start = in.u64();
    x.wal_end = in.u64();
    x.server_time_pg_us = in.i64();
    x.data = in.rest();
    return x;
  }
  if (type == 'k') {
    Keepalive k;
    k.wal_end = in.u64();
    k.server_time_pg_us = in.i64();
    k.reply_requested = in.u8() != 0;
    if (!in.at_end()) in.fail("trailing bytes after a keepalive");
    return k;
  }
  in.fail(std::string("unknown message type '") + type + "'");
}

std::string standby_status_update(Lsn written, Lsn flushed, Lsn applied,
                                  std::int64_t client_time_pg_us, bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  wire::put_u64(out, written);
  wire::put_u64(out, flushed);
  wire::put_u64(out, applied);
  wire::put_u64(out, static_cast<std::uint64_t>(client_time_pg_us));
  wire::put_u8(out, reply_requested ? 1 : 0);
  return out;
}

}  // namespace millrace::changefeed
