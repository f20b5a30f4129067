#pragma once

// The TLS settings of an HTTP service, the same in each: --tls-cert and
// --tls-key, read from <PREFIX>_TLS_CERT and <PREFIX>_TLS_KEY.

#include <string>

#include "millrace/core/options.hpp"

namespace millrace::httpd {

struct TlsFiles {
  std::string cert_file;  // PEM: the server's certificate, then intermediates
  std::string key_file;   // PEM: its private key, unencrypted
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// `env_prefix`: "MILLRACE_HTTP" gives MILLRACE_HTTP_TLS_CERT and _KEY.
void register_tls_options(core::OptionSet& options, TlsFiles& tls, const std::string& env_prefix);

// Both files or neither, and each readable: else core::UsageError naming the
// variable. (Whether they hold a certificate and its key, the server's
// constructor checks.)
void validate_tls(const TlsFiles& tls, const std::string& env_prefix);

class Server;

// A service's SIGHUP: reads `server`'s certificate and key again when it
// serves TLS (Server::reload_tls) and logs what happened under `component`.
// A failure is logged as an error and the server keeps its certificate.
void reload_certificate(Server& server, const TlsFiles& tls, const std::string& component);

}  // namespace millrace::httpd
