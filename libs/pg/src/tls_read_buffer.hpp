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
//
// libpq frees the connection's SSL, and with it the buffer, when it drops
// the connection by itself (the server ends the session, the socket
// breaks: pqDropConnection), while the PGconn lives on. The buffer looks at
// the connection's SSL before each use, and does nothing once it is gone.

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

  // Under the connection's TLS now: false without TLS, and once libpq has
  // dropped the connection (its SSL freed with the buffer).
  bool installed() const;
  // Bytes read from the socket that libpq has not taken in yet: in the
  // buffer, or decrypted and pending in OpenSSL. 0 when not installed().
  std::size_t unread() const;

 private:
  PGconn* conn_;
  void* ssl_ = nullptr;     // SSL*, libpq's
  void* buffer_ = nullptr;  // BIO*, ours, the SSL's read BIO while installed
};

}  // namespace millrace::pg
