#pragma once

// A read buffer under libpq's TLS connection, for the replication stream.
//
// Without it, OpenSSL reads each TLS record from the socket in two recv()
// calls (its header, then its body), and the walsender sends each message
// of the stream as a record of its own: two system calls per change, about
// a fifth of the change feed's CPU while it catches up (a profile, issue
// 82). With a buffer BIO between OpenSSL and libpq's socket BIO, one recv()
// takes in every record that has arrived.
//
// What the buffer holds is not in the socket, so a wait on the socket does
// not see it (nor does libpq's, which only asks OpenSSL): unread() says how
// much is taken in but not yet handed to libpq, and a reader takes that in
// (PQconsumeInput) before it waits.

#include <libpq-fe.h>

#include <cstddef>

namespace millrace::pg {

class TlsReadBuffer {
 public:
  // Puts the buffer under `conn`'s TLS; does nothing on a connection
  // without TLS (installed() is then false).
  explicit TlsReadBuffer(PGconn* conn);
  // Takes the buffer out again, before libpq closes the connection (what it
  // still holds is dropped with the connection).
  ~TlsReadBuffer();
  TlsReadBuffer(const TlsReadBuffer&) = delete;
  TlsReadBuffer& operator=(const TlsReadBuffer&) = delete;

  bool installed() const { return buffer_ != nullptr; }
  // Bytes read from the socket that libpq has not taken in yet: in the
  // buffer, or decrypted and pending in OpenSSL. 0 without TLS.
  std::size_t unread() const;

 private:
  void* ssl_ = nullptr;     // SSL*, libpq's
  void* buffer_ = nullptr;  // BIO*, ours, the SSL's read BIO while installed
};

}  // namespace millrace::pg
