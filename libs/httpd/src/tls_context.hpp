#pragma once

// The TLS context a server's connections are made from: its certificate chain and key.

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "millrace/httpd/server.hpp"

namespace millrace::httpd::detail {

// From options.tls_cert_file and tls_key_file (PEM); null when neither is
// set. Throws std::runtime_error, naming the files but never their content,
// when only one is set, a file cannot be used or the key is not the
// certificate's. TLS 1.2 and 1.3 only.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const ServerOptions& o);

}  // namespace millrace::httpd::detail
