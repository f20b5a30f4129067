#include "tls_read_buffer.hpp"

#include <openssl/bio.h>
#include <openssl/ssl.h>

namespace millrace::pg {

namespace {

// As large as libpq's input buffer grows for a stream of small messages:
// a recv() takes in about a hundred changes at a time.
constexpr int kBufferBytes = 64 * 1024;

}  // namespace

TlsReadBuffer::TlsReadBuffer(PGconn* conn) : conn_(conn) {
  if (PQsslInUse(conn) == 0) return;
  auto* ssl = static_cast<SSL*>(PQsslStruct(conn, "OpenSSL"));
  if (ssl == nullptr) return;
  BIO* socket = SSL_get_rbio(ssl);
  if (socket == nullptr) return;
  BIO* buffer = BIO_new(BIO_f_buffer());
  if (buffer == nullptr) return;
  if (BIO_set_read_buffer_size(buffer, kBufferBytes) != 1) {
    BIO_free(buffer);
    return;
  }
  // libpq's socket BIO is the SSL's read and write BIO, one reference each.
  // The SSL lets go of its read reference when given another read BIO; the
  // buffer's chain takes one of its own first.
  BIO_up_ref(socket);
  SSL_set0_rbio(ssl, buffer);
  BIO_push(buffer, socket);
  ssl_ = ssl;
  buffer_ = buffer;
}

bool TlsReadBuffer::installed() const {
  // libpq sets its SSL to null when it frees it; it never makes another one
  // for this PGconn (a stream is resumed on a new connection).
  return buffer_ != nullptr && PQsslStruct(conn_, "OpenSSL") == ssl_;
}

TlsReadBuffer::~TlsReadBuffer() {
  if (!installed()) return;
  auto* ssl = static_cast<SSL*>(ssl_);
  auto* buffer = static_cast<BIO*>(buffer_);
  // The socket BIO back as the read BIO, with the chain's reference; the
  // SSL frees the buffer, now alone, in its place.
  BIO* socket = BIO_pop(buffer);
  SSL_set0_rbio(ssl, socket);
}

std::size_t TlsReadBuffer::unread() const {
  if (!installed()) return 0;
  const int decrypted = SSL_pending(static_cast<SSL*>(ssl_));
  return BIO_ctrl_pending(static_cast<BIO*>(buffer_)) +
         static_cast<std::size_t>(decrypted > 0 ? decrypted : 0);
}

}  // namespace millrace::pg
