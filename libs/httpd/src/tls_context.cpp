// The TLS context a server's connections are made from: its certificate chain and key.
#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <stdexcept>
#include <string>

namespace millrace::httpd::detail {

namespace asio = boost::asio;

std::shared_ptr<asio::ssl::context> make_tls_context(const ServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return nullptr;
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    throw std::runtime_error("TLS needs both a certificate and its private key: only the " +
                             std::string(o.tls_cert_file.empty() ? "key" : "certificate") +
                             " file was given");
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  boost::beast::error_code ec;
  context->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) {
    throw std::runtime_error("cannot use the TLS certificate " + o.tls_cert_file + ": " +
                             ec.message() + " (a PEM file, the server's certificate first)");
  }
  context->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  const auto mismatch = [&] {
    throw std::runtime_error("the TLS private key " + o.tls_key_file +
                             " is not the key of the certificate " + o.tls_cert_file);
  };
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    mismatch();
  }
  if (ec) {
    // The message names the file, never its content.
    throw std::runtime_error("cannot use the TLS private key " + o.tls_key_file + ": " +
                             ec.message() + " (an unencrypted PEM file)");
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) mismatch();
  return context;
}

}  // namespace millrace::httpd::detail
